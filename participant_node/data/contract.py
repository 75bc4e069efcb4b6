"""The consortium data contract: one TOML file that names every feature and how it is encoded.

Every member validates its data against the same contract and every member builds the same
design matrix from it, so encoding and scaling are consortium-wide: standardisation centre and
scale, imputation fill values and the category lists are *stored in the contract*, never
computed from one member's rows at training time. Members and the coordinator compare
:meth:`Contract.fingerprint` to make sure everyone trains on the same contract.

The file format is documented in ``docs/data-contract.md``.

Example
-------
>>> spec = FeatureSpec.numeric("income", min=0.0, max=1e6, center=5e4, scale=2e4)
>>> c = Contract(label="default", positive="1", negative="0", features=(spec,))
>>> c.required_columns
('income', 'default')
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from participant_node.data.columns import canonical_label
from participant_node.data.feature import ContractError, FeatureSpec, finite_number

FORMAT_VERSION = 1
"""Version of the TOML layout written by :meth:`Contract.save`."""

DEFAULT_MISSING_TOKENS: tuple[str, ...] = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)
"""Cell texts read as missing: exactly pandas' default ``na_values``, so that a frame read with
``pd.read_csv`` and a file streamed by the validator agree on what is missing."""


@dataclass(frozen=True)
class Contract:
    """The consortium's feature schema (see the module docstring and ``docs/data-contract.md``).

    Parameters
    ----------
    label
        Name of the 0/1 outcome column.
    positive, negative
        The label's two values; ``positive`` (e.g. ``"bad"``, ``"1"``) maps to 1. Numeric-looking
        labels are compared as numbers (``"1.0"`` equals ``"1"``).
    features
        Ordered features; the order fixes the design matrix's columns.
    id_column
        Optional record id (e.g. ``company_id``): required, non-missing, unique, not a feature.
    exclude
        Columns that may be present and are ignored.
    missing_tokens
        Cell texts read as missing (after trimming spaces).
    z_clip
        Standardised values are clipped to ``[-z_clip, z_clip]``.
    """

    label: str
    positive: str
    negative: str
    features: tuple[FeatureSpec, ...]
    id_column: str | None = None
    exclude: tuple[str, ...] = ()
    missing_tokens: tuple[str, ...] = DEFAULT_MISSING_TOKENS
    z_clip: float = 5.0
    name: str = ""
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "exclude", tuple(self.exclude))
        object.__setattr__(self, "missing_tokens", tuple(str(t) for t in self.missing_tokens))
        object.__setattr__(self, "positive", canonical_label(str(self.positive)))
        object.__setattr__(self, "negative", canonical_label(str(self.negative)))
        texts = [self.label, *self.exclude, *([self.id_column] if self.id_column else [])]
        if not all(isinstance(t, str) for t in texts):
            raise ContractError(f"label, id_column and exclude must be text; got {texts!r}")
        if not self.features:
            raise ContractError("a contract needs at least one feature")
        if not all(isinstance(f, FeatureSpec) for f in self.features):
            raise ContractError("features must be FeatureSpec objects")
        if not self.label:
            raise ContractError("label column name must be non-empty")
        if self.positive == self.negative or "" in (self.positive, self.negative):
            raise ContractError(
                f"positive and negative label values must be distinct and "
                f"non-empty; got {self.positive!r} and {self.negative!r}"
            )
        if self.positive in self.missing_tokens or self.negative in self.missing_tokens:
            raise ContractError("a label value may not be one of the missing tokens")
        names = [f.name for f in self.features]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ContractError(f"feature names must be unique; repeated: {dup}")
        if self.id_column is not None and self.id_column in ("", self.label):
            raise ContractError(
                f"id_column must be non-empty and differ from the label; got {self.id_column!r}"
            )
        special = {self.label} | ({self.id_column} if self.id_column else set())
        clash = sorted(set(names) & special)
        if clash:
            raise ContractError(f"label/id column may not also be a feature: {clash}")
        clash = sorted(set(self.exclude) & (special | set(names)))
        if clash:
            raise ContractError(f"excluded columns may not be label, id or feature: {clash}")
        z = finite_number(self.z_clip, "z_clip")
        if z <= 0:
            raise ContractError(f"z_clip must be > 0; got {z}")
        object.__setattr__(self, "z_clip", z)

    # ------------------------------------------------------------------ views
    @property
    def feature_names(self) -> tuple[str, ...]:
        """Input feature column names, in contract order."""
        return tuple(f.name for f in self.features)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns every labelled member file must have: id (if any), features, label."""
        head = (self.id_column,) if self.id_column else ()
        return (*head, *self.feature_names, self.label)

    def feature(self, name: str) -> FeatureSpec:
        """The feature called ``name`` (KeyError naming the known features otherwise)."""
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"no feature {name!r} in the contract; features: {list(self.feature_names)}")

    def with_features(self, extra: Sequence[FeatureSpec]) -> Contract:
        """A new contract with ``extra`` features appended (e.g. graph features)."""
        return replace(self, features=(*self.features, *extra))

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain dict in the TOML layout (``[contract]`` table plus ``[[features]]``)."""
        head: dict[str, Any] = {"format": FORMAT_VERSION}
        if self.name:
            head["name"] = self.name
        if self.description:
            head["description"] = self.description
        head["label"] = self.label
        head["positive"] = self.positive
        head["negative"] = self.negative
        if self.id_column:
            head["id_column"] = self.id_column
        head["exclude"] = list(self.exclude)
        head["missing_tokens"] = list(self.missing_tokens)
        head["z_clip"] = self.z_clip
        return {"contract": head, "features": [f.to_dict() for f in self.features]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Contract:
        """Inverse of :meth:`to_dict`."""
        if "contract" not in d or "features" not in d:
            raise ContractError("a contract needs a [contract] table and [[features]] entries")
        head = dict(d["contract"])
        version = head.pop("format", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ContractError(
                f"contract format {version!r} is not supported; expected {FORMAT_VERSION}"
            )
        known = {
            "name",
            "description",
            "label",
            "positive",
            "negative",
            "id_column",
            "exclude",
            "missing_tokens",
            "z_clip",
        }
        unknown = sorted(set(head) - known)
        if unknown:
            raise ContractError(f"[contract]: unknown key(s) {unknown}; known: {sorted(known)}")
        for key in ("label", "positive", "negative"):
            if key not in head:
                raise ContractError(f"[contract]: missing key {key!r}")
        feats = []
        for i, fd in enumerate(d["features"], start=1):
            try:
                feats.append(FeatureSpec.from_dict(fd))
            except (ContractError, TypeError) as e:
                raise ContractError(f"[[features]] #{i}: {e}") from None
        head["positive"] = str(head["positive"])
        head["negative"] = str(head["negative"])
        head["exclude"] = tuple(head.get("exclude", ()))
        if "missing_tokens" in head:
            head["missing_tokens"] = tuple(head["missing_tokens"])
        return cls(features=tuple(feats), **head)

    def fingerprint(self) -> str:
        """Stable SHA-256 (hex) of everything that changes validation or the design matrix.

        Names and descriptions are left out; the feature order is part of it (it fixes the
        matrix layout); ``exclude`` is compared as a set.
        """
        d = self.to_dict()
        head = {k: v for k, v in d["contract"].items() if k not in ("name", "description")}
        head["exclude"] = sorted(head["exclude"])
        feats = [{k: v for k, v in f.items() if k != "description"} for f in d["features"]]
        blob = json.dumps(
            {"contract": head, "features": feats},
            sort_keys=True,
            separators=(",", ":"),
            allow_nan=False,
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the contract as TOML atomically (temp file in the same folder, then rename)."""
        target = Path(path)
        text = _HEADER + tomli_w.dumps(self.to_dict())
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Contract:
        """Read a contract TOML file; errors name the file and the offending key or line."""
        p = Path(path)
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise ContractError(f"contract file {p} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ContractError(f"contract file {p} is not valid TOML: {e}") from None
        try:
            return cls.from_dict(raw)
        except (ContractError, TypeError) as e:
            raise ContractError(f"contract file {p}: {e}") from None


def load_contract(path: str | os.PathLike[str]) -> Contract:
    """Same as :meth:`Contract.load`."""
    return Contract.load(path)


_HEADER = (
    "# fedcredit consortium data contract (format reference: docs/data-contract.md).\n"
    "# Every member validates and encodes its data with this file; compare fingerprints.\n\n"
)
