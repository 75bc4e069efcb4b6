"""One feature of the consortium data contract (:class:`FeatureSpec`) and the contract error.

A numeric feature carries its allowed range, consortium-wide standardisation constants and its
missing-value policy; a categorical feature carries its category list. See
``docs/data-contract.md`` for the TOML layout.

Example
-------
>>> FeatureSpec.categorical("term", ["36", "60"], missing="category").output_names
('term=36', 'term=60', 'term=__missing__')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

FeatureType = Literal["numeric", "categorical"]
MissingPolicy = Literal["forbid", "impute", "category"]

FEATURE_TYPES: tuple[str, ...] = ("numeric", "categorical")
MISSING_POLICIES: dict[str, tuple[str, ...]] = {
    "numeric": ("forbid", "impute"),
    "categorical": ("forbid", "category"),
}
MISSING_CATEGORY = "__missing__"
"""Name of the one-hot column for a missing categorical value (policy ``category``)."""


class ContractError(ValueError):
    """A contract that is malformed or inconsistent; the message names the file and the key."""


@dataclass(frozen=True)
class FeatureSpec:
    """One feature of the contract.

    Parameters
    ----------
    name
        Column name in the members' files.
    type
        ``"numeric"`` or ``"categorical"``.
    min, max
        Allowed range of a numeric value (inclusive); ``None`` means unbounded.
    center, scale
        Standardisation: ``z = (x - center) / scale``, consortium-wide. ``scale > 0``.
    categories
        Allowed values of a categorical feature (one one-hot column each, in this order).
    missing
        ``"forbid"`` (a missing cell is a validation error), ``"impute"`` (numeric: replace with
        ``fill``) or ``"category"`` (categorical: missing is its own one-hot column).
    fill
        Imputation value for ``missing = "impute"``.
    indicator
        With ``missing = "impute"``: add a 0/1 column ``<name>__missing``.
    description
        Free text for people; not part of the fingerprint.
    """

    name: str
    type: FeatureType
    min: float | None = None
    max: float | None = None
    center: float = 0.0
    scale: float = 1.0
    categories: tuple[str, ...] = ()
    missing: MissingPolicy = "forbid"
    fill: float | None = None
    indicator: bool = False
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        where = f"feature {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ContractError(f"feature name must be a non-empty string; got {self.name!r}")
        if self.type not in FEATURE_TYPES:
            raise ContractError(f"{where}: type must be one of {FEATURE_TYPES}; got {self.type!r}")
        if not isinstance(self.indicator, bool):
            raise ContractError(f"{where}: indicator must be true or false; got {self.indicator!r}")
        allowed = MISSING_POLICIES[self.type]
        if self.missing not in allowed:
            raise ContractError(
                f"{where}: missing policy for a {self.type} feature must be one of {allowed}; "
                f"got {self.missing!r}"
            )
        if self.type == "numeric":
            self._check_numeric(where)
        else:
            self._check_categorical(where)

    def _check_numeric(self, where: str) -> None:
        for key in ("min", "max", "fill"):
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, finite_number(value, f"{where}: {key}"))
        center = finite_number(self.center, f"{where}: center")
        scale = finite_number(self.scale, f"{where}: scale")
        if scale <= 0:
            raise ContractError(f"{where}: scale must be > 0; got {scale}")
        object.__setattr__(self, "center", center)
        object.__setattr__(self, "scale", scale)
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ContractError(f"{where}: min must be <= max; got min={self.min}, max={self.max}")
        if self.missing == "impute" and self.fill is None:
            raise ContractError(f"{where}: missing = 'impute' needs a fill value")
        if self.missing != "impute" and (self.fill is not None or self.indicator):
            raise ContractError(f"{where}: fill and indicator are only allowed with 'impute'")
        if self.categories:
            raise ContractError(f"{where}: a numeric feature has no categories")

    def _check_categorical(self, where: str) -> None:
        cats = tuple(self.categories)
        if not cats:
            raise ContractError(f"{where}: a categorical feature needs at least one category")
        if not all(isinstance(c, str) for c in cats):
            raise ContractError(f"{where}: categories must be strings; got {list(cats)!r}")
        if len(set(cats)) != len(cats):
            raise ContractError(f"{where}: categories must be unique; got {list(cats)!r}")
        if MISSING_CATEGORY in cats or any(c != c.strip() or c == "" for c in cats):
            raise ContractError(
                f"{where}: categories must be non-empty, without surrounding spaces and not "
                f"{MISSING_CATEGORY!r}; got {list(cats)!r}"
            )
        object.__setattr__(self, "categories", cats)
        bounds = (self.min, self.max, self.fill)
        if any(v is not None for v in bounds) or self.indicator:
            raise ContractError(f"{where}: min/max/fill/indicator are only for numeric features")

    @classmethod
    def numeric(
        cls,
        name: str,
        *,
        center: float,
        scale: float,
        min: float | None = None,
        max: float | None = None,
        missing: MissingPolicy = "forbid",
        fill: float | None = None,
        indicator: bool = False,
        description: str = "",
    ) -> FeatureSpec:
        """A numeric feature (keyword arguments as in the class docstring)."""
        return cls(
            name,
            "numeric",
            min=min,
            max=max,
            center=center,
            scale=scale,
            missing=missing,
            fill=fill,
            indicator=indicator,
            description=description,
        )

    @classmethod
    def categorical(
        cls,
        name: str,
        categories: Sequence[str],
        *,
        missing: MissingPolicy = "forbid",
        description: str = "",
    ) -> FeatureSpec:
        """A categorical feature over ``categories`` (kept in the given order)."""
        return cls(
            name,
            "categorical",
            categories=tuple(categories),
            missing=missing,
            description=description,
        )

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of the design-matrix columns this feature produces, in order."""
        if self.type == "numeric":
            return (self.name, f"{self.name}__missing") if self.indicator else (self.name,)
        names = tuple(f"{self.name}={c}" for c in self.categories)
        if self.missing == "category":
            names += (f"{self.name}={MISSING_CATEGORY}",)
        return names

    def to_dict(self) -> dict[str, Any]:
        """Plain TOML/JSON-able dict; keys that do not apply are left out."""
        d: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.type == "numeric":
            if self.min is not None:
                d["min"] = self.min
            if self.max is not None:
                d["max"] = self.max
            d["center"] = self.center
            d["scale"] = self.scale
        else:
            d["categories"] = list(self.categories)
        d["missing"] = self.missing
        if self.fill is not None:
            d["fill"] = self.fill
        if self.indicator:
            d["indicator"] = True
        if self.description:
            d["description"] = self.description
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureSpec:
        """Inverse of :meth:`to_dict`; unknown keys are an error (they are usually typos)."""
        known = {
            "name",
            "type",
            "min",
            "max",
            "center",
            "scale",
            "categories",
            "missing",
            "fill",
            "indicator",
            "description",
        }
        name = d.get("name", "?")
        unknown = sorted(set(d) - known)
        if unknown:
            raise ContractError(
                f"feature {name!r}: unknown key(s) {unknown}; known: {sorted(known)}"
            )
        for key in ("name", "type"):
            if key not in d:
                raise ContractError(f"feature {name!r}: missing key {key!r}")
        if d["type"] == "numeric":
            for key in ("center", "scale"):
                if key not in d:
                    raise ContractError(f"feature {name!r}: numeric feature needs {key!r}")
        kwargs = dict(d)
        if "categories" in kwargs:
            kwargs["categories"] = tuple(str(c) for c in kwargs["categories"])
        return cls(**kwargs)


def finite_number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ContractError(f"{what} must be a number; got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ContractError(f"{what} must be finite; got {v}")
    return v
