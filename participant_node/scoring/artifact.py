"""The model artifact a member scores with: one JSON file, checksummed.

Contents (``format = "fedcredit-model/1"``):

* ``model`` -- ``kind`` (``logistic`` | ``mlp``), ``n_features``, ``hidden``, and ``params``:
  the flat float64 vector in ``participant_node.model.get_flat`` order (JSON floats round-trip
  exactly);
* ``contract`` -- the consortium data contract (``Contract.to_dict``) and its fingerprint: the
  whole preprocessing from raw columns to model inputs (``Preprocessor``); ``feature_names``
  are its design-matrix columns; ``graph_feature_columns`` the contract features that come from
  the association's published graph-feature table (joined by company id before encoding);
* ``reference`` -- the design-space point reason codes are measured against (the member's
  portfolio mean; zeros = every numeric at its contract centre, no category);
* ``calibration`` -- optional member calibration written by ``fedcredit node calibrate``:
  ``{"method": "platt", "a", "b"}`` or ``{"method": "isotonic", "x", "y"}`` (see
  :mod:`calibration`), plus ``fit``: the rows it was fitted on and Brier/ECE before and
  after; ``Scorer`` applies it to the model PD (before the contagion overlay);
* ``run`` -- ``run_id`` and the ``round`` of the decrypted checkpoint;
* ``attestation`` -- the summary of the coordinator's per-round attestation records: scheme,
  key bits and fingerprint, DP on at every member in every round, max epsilon, delta, rounds
  and members;
* ``sha256`` -- hex SHA-256 of the canonical JSON (sorted keys, no spaces) of everything else.

:func:`load_artifact` recomputes the checksum and refuses a file that does not match.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from participant_node.data import Contract, Preprocessor
from participant_node.scoring.calibration import calibrator_from_state

FORMAT = "fedcredit-model/1"


class ArtifactError(ValueError):
    """A model file is unreadable, tampered with, or inconsistent."""


def attestation_summary(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Summarise per-round attestation records (``attestations.jsonl``) for the artifact."""
    if not records:
        return {"rounds": 0, "scheme": None, "dp": False}
    schemes = sorted({str(r.get("scheme")) for r in records})
    entries = [e for r in records for e in r.get("per_member", {}).values()]
    eps = [float(e["epsilon"]) for e in entries if e.get("dp") and e.get("epsilon") is not None]
    deltas = [float(e["delta"]) for e in entries if e.get("dp") and e.get("delta") is not None]
    last = records[-1]
    return {
        "rounds": len(records),
        "scheme": schemes[0] if len(schemes) == 1 else schemes,
        "key_bits": last.get("key_bits"),
        "key_fingerprint": last.get("key_fingerprint"),
        "dp": bool(entries) and all(bool(e.get("dp")) for e in entries),
        "epsilon": max(eps) if eps else None,
        "delta": max(deltas) if deltas else None,
        "members": sorted({m for r in records for m in r.get("members", [])}),
    }


@dataclass(frozen=True)
class ModelArtifact:
    """Everything needed to score raw member rows (see the module docstring)."""

    kind: str
    n_features: int
    hidden: int
    params: np.ndarray
    contract: Contract
    graph_feature_columns: tuple[str, ...]
    reference: np.ndarray
    run_id: str
    round: int
    attestation: Mapping[str, Any]
    calibration: Mapping[str, Any] | None = None
    created_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ"))

    def __post_init__(self) -> None:
        width = Preprocessor(self.contract).width
        if width != self.n_features:
            raise ArtifactError(
                f"model has {self.n_features} inputs but the contract encodes {width} columns"
            )
        if self.reference.shape != (self.n_features,):
            raise ArtifactError(
                f"reference has shape {self.reference.shape}; expected ({self.n_features},)"
            )
        names = set(self.contract.feature_names)
        unknown = [c for c in self.graph_feature_columns if c not in names]
        if unknown:
            raise ArtifactError(f"graph feature columns {unknown} are not contract features")
        if self.calibration is not None:
            try:
                calibrator_from_state(self.calibration)
            except (KeyError, TypeError, ValueError) as exc:
                raise ArtifactError(f"calibration is malformed ({exc})") from None

    @property
    def feature_names(self) -> list[str]:
        """Design-matrix column names."""
        return Preprocessor(self.contract).feature_names

    @property
    def sha256(self) -> str:
        """Checksum of the content (what :meth:`save` writes)."""
        return _digest(self._content())

    def summary(self) -> dict[str, Any]:
        """What ``GET /v1/model`` shows: version, attestation, no parameters."""
        return {
            "format": FORMAT,
            "kind": self.kind,
            "n_features": self.n_features,
            "run_id": self.run_id,
            "round": self.round,
            "contract_fingerprint": self.contract.fingerprint(),
            "graph_feature_columns": list(self.graph_feature_columns),
            "calibrated": self.calibration is not None,
            "calibration_method": (
                None if self.calibration is None else self.calibration.get("method", "platt")
            ),
            "attestation": dict(self.attestation),
            "created_at": self.created_at,
            "sha256": self.sha256,
        }

    def with_calibration(self, calibration: Mapping[str, Any] | None) -> ModelArtifact:
        """The same model with ``calibration`` (a calibrator state, or ``None`` to remove it)."""
        return replace(self, calibration=None if calibration is None else dict(calibration))

    def _content(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "model": {
                "kind": self.kind,
                "n_features": self.n_features,
                "hidden": self.hidden,
                "params": [float(v) for v in self.params],
            },
            "contract": self.contract.to_dict(),
            "contract_fingerprint": self.contract.fingerprint(),
            "feature_names": self.feature_names,
            "graph_feature_columns": list(self.graph_feature_columns),
            "reference": [float(v) for v in self.reference],
            "calibration": None if self.calibration is None else dict(self.calibration),
            "run": {"run_id": self.run_id, "round": self.round},
            "attestation": dict(self.attestation),
            "created_at": self.created_at,
        }

    def save(self, path: str | Path) -> Path:
        """Write atomically (temp file, then rename) with the checksum."""
        content = self._content()
        doc = {**content, "sha256": _digest(content)}
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=1, allow_nan=False)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target


def _digest(content: Mapping[str, Any]) -> str:
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_artifact(path: str | Path) -> ModelArtifact:
    """Read a model file and verify its SHA-256; :class:`ArtifactError` names the problem."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{p}: no such model file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{p}: not a JSON model file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ArtifactError(f"{p}: format must be {FORMAT!r}; got {doc.get('format')!r}")
    stored = doc.pop("sha256", None)
    actual = _digest(doc)
    if stored != actual:
        raise ArtifactError(
            f"{p}: SHA-256 mismatch (file says {str(stored)[:16]}..., content is "
            f"{actual[:16]}...); the model file was changed after export, refusing to load it"
        )
    try:
        contract = Contract.from_dict(doc["contract"])
        model = doc["model"]
        art = ModelArtifact(
            kind=str(model["kind"]),
            n_features=int(model["n_features"]),
            hidden=int(model["hidden"]),
            params=np.asarray(model["params"], dtype=np.float64),
            contract=contract,
            graph_feature_columns=tuple(doc["graph_feature_columns"]),
            reference=np.asarray(doc["reference"], dtype=np.float64),
            run_id=str(doc["run"]["run_id"]),
            round=int(doc["run"]["round"]),
            attestation=doc["attestation"],
            calibration=doc.get("calibration"),
            created_at=str(doc["created_at"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{p}: malformed model file ({exc!r})") from None
    if contract.fingerprint() != doc.get("contract_fingerprint"):
        raise ArtifactError(f"{p}: contract fingerprint does not match the contract")
    return art


def export_model(
    out: str | Path,
    *,
    flat: np.ndarray,
    kind: str,
    hidden: int,
    contract: Contract,
    run_id: str,
    round: int,
    attestations: Sequence[Mapping[str, Any]],
    graph_feature_columns: Sequence[str] = (),
    reference: np.ndarray | None = None,
    calibration: Mapping[str, Any] | None = None,
) -> ModelArtifact:
    """Build the artifact from a decrypted parameter vector and write it to ``out``."""
    from participant_node.scoring.network import ScoringNet

    n = Preprocessor(contract).width
    ScoringNet.from_flat(kind, n, hidden, flat)  # checks length and finiteness
    art = ModelArtifact(
        kind=kind,
        n_features=n,
        hidden=hidden,
        params=np.asarray(flat, dtype=np.float64),
        contract=contract,
        graph_feature_columns=tuple(
            c for c in graph_feature_columns if c in contract.feature_names
        ),
        reference=np.zeros(n) if reference is None else np.asarray(reference, dtype=np.float64),
        run_id=run_id,
        round=round,
        attestation=attestation_summary(attestations),
        calibration=calibration,
    )
    art.save(out)
    return art
