"""``Scorer``: raw member rows -> PD, overlay, points, tier, terms, reasons, warnings.

Pipeline (the same for a batch and for one record):

1. graph features the model was trained with are joined from the association's published
   table by company id (a frame that already carries them keeps its own);
2. the contract encodes the row (``Preprocessor`` for a batch, :class:`RecordEncoder` for one
   record; identical rows);
3. ``PD_model = sigmoid(logit)`` from the numpy model, mapped through the member's
   calibration when the model file carries one (Platt or isotonic, ``fedcredit node
   calibrate``);
4. with a :class:`RelationshipView` and the overlay on:
   ``PD_final = 1 - (1 - PD_model) prod (1 - W e PD_neighbour)`` over the guarantees the company
   gave (:mod:`overlay`); a neighbour scored in the same batch uses its model PD, a defaulted one
   1, any other ``policy.unscored_neighbour_pd``; otherwise ``PD_final = PD_model`` and
   ``overlay`` is reported false;
5. points (PDO convention), tier, the tier's terms; reason codes; graph evidence; warnings
   against the previous snapshot in the :class:`WarningState` (call :meth:`Scorer.remember`
   to move it on).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from participant_node.data import Preprocessor
from participant_node.graph_join import GRAPH_FEATURES, check_feature_table, read_feature_table
from participant_node.scoring.artifact import ModelArtifact, load_artifact
from participant_node.scoring.calibration import calibrator_from_state
from participant_node.scoring.encoder import RecordEncoder, RecordError
from participant_node.scoring.graph import RegistryGraph, RelationshipView
from participant_node.scoring.network import ScoringNet
from participant_node.scoring.overlay import contagion_overlay
from participant_node.scoring.points import assign_tier, pd_to_points
from participant_node.scoring.policy import ScoringPolicy, load_policy
from participant_node.scoring.reasons import group_matrix, top_reasons_batch
from participant_node.scoring.warnings import Snapshot, WarningState, early_warnings

EVIDENCE_HOPS = 3


@dataclass(frozen=True)
class ScoreResult:
    """One scored company."""

    company_id: str
    pd_model: float
    pd_final: float
    points: float
    tier: str
    terms: Mapping[str, Any]
    reasons: list[dict[str, Any]]
    evidence: list[str] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    overlay: bool = False
    in_guarantee_circle: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "company_id": self.company_id,
            "pd_model": self.pd_model,
            "pd_final": self.pd_final,
            "points": self.points,
            "tier": self.tier,
            "terms": dict(self.terms),
            "reasons": list(self.reasons),
            "evidence": list(self.evidence),
            "warnings": list(self.warnings),
            "overlay": self.overlay,
            "in_guarantee_circle": self.in_guarantee_circle,
        }


class Scorer:
    """Score member rows with a model artifact and a policy (see the module docstring)."""

    def __init__(
        self,
        artifact: ModelArtifact,
        policy: ScoringPolicy | None = None,
        graph_features: pd.DataFrame | None = None,
        graph: RelationshipView | None = None,
        state: WarningState | None = None,
    ) -> None:
        self.artifact = artifact
        self.policy = policy or ScoringPolicy()
        self.graph = graph
        self.state = state if state is not None else WarningState()
        contract = artifact.contract
        self.id_column = contract.id_column or "company_id"
        self._pre = Preprocessor(contract)
        self._encoder = RecordEncoder(contract)
        self._net = ScoringNet.from_flat(
            artifact.kind, artifact.n_features, artifact.hidden, artifact.params
        )
        self._calib = calibrator_from_state(artifact.calibration) if artifact.calibration else None
        self._groups = group_matrix(contract)
        self._names = list(contract.feature_names)
        needed = [c for c in GRAPH_FEATURES if c in artifact.graph_feature_columns]
        self._table: pd.DataFrame | None = None
        self._lookup: dict[str, dict[str, float]] = {}
        if graph_features is not None:
            table = check_feature_table(graph_features, source="graph feature table")
            self._table = table.set_index("company_id")
            self._lookup = {
                str(k): {str(c): float(v) for c, v in row.items()}
                for k, row in self._table.to_dict(orient="index").items()
            }
        elif needed:
            raise ValueError(
                f"the model uses graph features {needed}; give the association's graph-feature "
                "table (--graph-features)"
            )

    @classmethod
    def load(
        cls,
        model_path: str | Path,
        policy: ScoringPolicy | str | Path | None = None,
        graph_features: pd.DataFrame | str | Path | None = None,
        graph: RelationshipView | str | Path | None = None,
        state: WarningState | None = None,
    ) -> Scorer:
        """Load a model file; ``policy`` a policy or TOML path; ``graph_features`` the
        published table or its path; ``graph`` a view or a registry folder (CSV tables)."""
        pol = policy if isinstance(policy, ScoringPolicy) else load_policy(policy)
        table = (
            read_feature_table(graph_features)
            if isinstance(graph_features, str | Path)
            else graph_features
        )
        view = RegistryGraph.from_dir(graph) if isinstance(graph, str | Path) else graph
        return cls(load_artifact(model_path), pol, table, view, state)

    # ------------------------------------------------------------------ public
    def score(self, frame: pd.DataFrame) -> list[ScoreResult]:
        """Score a batch (vectorised model, overlay and reasons)."""
        ids = self._ids(frame)
        df = self._with_graph(frame, ids)
        x = self._pre.transform(df).astype(np.float64)
        receivables = self._receivables(frame)
        values = df[self._names].to_numpy(dtype=object)
        return self._finish(ids, x, values, df, receivables)

    def model_pd(self, frame: pd.DataFrame, *, calibrated: bool = True) -> np.ndarray:
        """Model PDs of a batch: no overlay, reasons or warnings. ``calibrated=False`` skips
        the artifact's calibration (the PDs ``fedcredit node calibrate`` fits on)."""
        x = self._pre.transform(self._with_graph(frame, self._ids(frame))).astype(np.float64)
        p = self._net.proba(x)
        return self._calib.transform(p) if calibrated and self._calib is not None else p

    def score_one(self, record: Mapping[str, object]) -> ScoreResult:
        """Score one record (a mapping of column -> value); no pandas on this path."""
        if self.id_column not in record:
            raise RecordError(f"record lacks the id column {self.id_column!r}")
        cid = str(record[self.id_column])
        row = dict(record)
        graph_row = self._lookup.get(cid, {})
        for c in self.artifact.graph_feature_columns:
            if c not in row:
                row[c] = graph_row.get(c, float("nan"))
        x = self._encoder.encode(row)[None, :]
        rec_days = None
        col = self.policy.receivables_column
        if col is not None:
            if col not in record:
                raise RecordError(f"record lacks the receivables column {col!r} (policy)")
            rec_days = _days(record[col], col, 1)
        values = np.array([[row[n] for n in self._names]], dtype=object)
        keys = ("in_guarantee_circle", "related_party_default_count")
        extra = {c: [graph_row.get(c, np.nan)] for c in keys}
        return self._finish([cid], x, values, extra, [rec_days])[0]

    def remember(self, results: Sequence[ScoreResult]) -> None:
        """Move the warning state on to these results (the next score compares with them)."""
        for r in results:
            self.state.update(r.company_id, Snapshot(r.tier, r.pd_final, r.in_guarantee_circle))

    # ------------------------------------------------------------------ internals
    def _ids(self, frame: pd.DataFrame) -> list[str]:
        if self.id_column in frame.columns:
            return [str(v) for v in frame[self.id_column].astype(str).tolist()]
        if self.artifact.contract.id_column is None:  # no id in the contract: row numbers
            return [str(i) for i in range(1, len(frame) + 1)]
        raise ValueError(f"scoring needs the id column {self.id_column!r} in the data")

    def _with_graph(self, frame: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
        cols = [c for c in GRAPH_FEATURES if c not in frame.columns]
        if self._table is None or not cols:
            return frame
        joined = self._table[cols].reindex(ids)
        joined.index = frame.index
        return pd.concat([frame, joined], axis=1)

    def _receivables(self, frame: pd.DataFrame) -> list[float | None]:
        col = self.policy.receivables_column
        if col is None:
            return [None] * len(frame)
        if col not in frame.columns:
            raise ValueError(f"the policy's receivables column {col!r} is not in the data")
        return [_days(v, col, i + 1) for i, v in enumerate(frame[col].tolist())]

    def _pd_model(self, x: np.ndarray) -> np.ndarray:
        p = self._net.proba(x)
        return self._calib.transform(p) if self._calib is not None else p

    def _overlay(self, ids: list[str], pd_model: np.ndarray) -> tuple[np.ndarray, bool]:
        w = self.policy.overlay_weight_effective
        if self.graph is None or w == 0.0:
            return pd_model, False
        position = {c: i for i, c in enumerate(ids)}
        neighbours: dict[str, int] = {}
        rows: list[list[tuple[int, float]]] = []
        for cid in ids:
            row = []
            for nb, share in self.graph.exposures(cid):
                row.append((neighbours.setdefault(nb, len(neighbours)), share))
            rows.append(row)
        pd_nb = np.full(len(neighbours), self.policy.unscored_neighbour_pd)
        for nb, j in neighbours.items():
            if self.graph.default_date(nb) is not None:
                pd_nb[j] = 1.0
            elif nb in position:
                pd_nb[j] = pd_model[position[nb]]
        return contagion_overlay(pd_model, rows, pd_nb, w), True

    def _finish(
        self,
        ids: list[str],
        x: np.ndarray,
        values: np.ndarray,
        extra: Mapping[str, Any] | pd.DataFrame,
        receivables: Sequence[float | None],
    ) -> list[ScoreResult]:
        with _gc_deferred():
            return self._build(ids, x, values, extra, receivables)

    def _build(
        self,
        ids: list[str],
        x: np.ndarray,
        values: np.ndarray,
        extra: Mapping[str, Any] | pd.DataFrame,
        receivables: Sequence[float | None],
    ) -> list[ScoreResult]:
        pol = self.policy
        pd_model = self._pd_model(x)
        pd_final, overlaid = self._overlay(ids, pd_model)
        points = pd_to_points(pd_final, pol)
        tiers = assign_tier(points, pol)
        contrib = self._net.attribute(x, self.artifact.reference) @ self._groups
        reasons = top_reasons_batch(contrib, self._names, values, pol.top_reasons)
        circle = _column(extra, "in_guarantee_circle", len(ids))
        related = _column(extra, "related_party_default_count", len(ids)).tolist()
        pdm, pdf, pts = pd_model.tolist(), pd_final.tolist(), points.tolist()
        out = []
        for i, cid in enumerate(ids):
            chains = (
                [c.text() for c in self.graph.default_chains(cid, EVIDENCE_HOPS)]
                if self.graph is not None
                else []
            )
            in_circle = bool(circle[i] > 0)
            tier = str(tiers[i])
            terms = pol.terms[tier]
            out.append(
                ScoreResult(
                    company_id=cid,
                    pd_model=pdm[i],
                    pd_final=pdf[i],
                    points=round(pts[i], 2),
                    tier=tier,
                    terms={"days": terms.days, "text": terms.text},
                    reasons=reasons[i],
                    evidence=chains,
                    warnings=early_warnings(
                        tier=tier,
                        pd_final=pdf[i],
                        previous=self.state.get(cid),
                        policy=pol,
                        in_guarantee_circle=in_circle,
                        related_party_defaults=related[i],
                        default_chains=chains,
                        receivable_days=receivables[i],
                    ),
                    overlay=overlaid,
                    in_guarantee_circle=in_circle,
                )
            )
        return out


@contextmanager
def _gc_deferred() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while a batch of results is built.

    A batch allocates a handful of containers per row (result, reasons, warnings) that all
    survive, so the collector would re-traverse the whole heap several times per batch (about
    60% of the reason-code time of a 10k batch, measured); none of them is cyclic, so nothing
    is lost by collecting afterwards. Re-enabled only if it was enabled before.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _column(extra: Mapping[str, Any] | pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name not in extra:
        return np.zeros(n)
    v = np.asarray(pd.to_numeric(pd.Series(list(extra[name])), errors="coerce"), dtype=float)
    return np.nan_to_num(v, nan=0.0)


def _days(value: object, column: str, row: int) -> float | None:
    """Days past due of a receivables cell: a number >= 0, or missing."""
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return None
    try:
        days = float(str(value).strip())
    except ValueError:
        raise ValueError(
            f"row {row}, column {column}: {value!r} is not a number of days (rule: receivables)"
        ) from None
    if not days >= 0 or days == float("inf"):
        raise ValueError(
            f"row {row}, column {column}: days past due must be >= 0; got {value!r} "
            "(rule: receivables)"
        )
    return days
