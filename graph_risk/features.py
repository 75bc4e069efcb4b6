"""The graph-feature table: one row per company, consumed by participant nodes.

Columns are documented precisely in ``docs/graph-features.md``; :data:`FEATURE_COLUMNS` lists
them in order. Everything is computed in bulk with sparse-matrix methods (see the algorithm
modules) so 500k companies take well under a minute.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from graph_risk.algorithms.circles import check_max_length, circle_stats, group_labels
from graph_risk.algorithms.contagion import contagion_scores
from graph_risk.algorithms.control import check_fraction, control_state
from graph_risk.algorithms.exposure import chain_exposure_table, check_hops
from graph_risk.algorithms.neighbourhood import defaulted_within, neighbourhood_graph
from graph_risk.algorithms.ownership import controller_shares
from graph_risk.algorithms.related import LINK_KINDS, related_party_labels
from graph_risk.build import DateLike, company_rows, guarantee_graph, ownership_graph
from graph_risk.frames import GraphFrames

FEATURE_COLUMNS: tuple[str, ...] = (
    "company_id",
    "in_guarantee_circle",
    "guarantee_circle_count",
    "shortest_circle_length",
    "guarantee_group_size",
    "guarantee_out_degree",
    "guarantee_in_degree",
    "guaranteed_amount_out",
    "guaranteed_amount_in",
    "chain_depth",
    "chain_exposure_amount",
    "related_party_count",
    "related_party_default_count",
    "defaulted_neighbours_1hop",
    "defaulted_neighbours_2hop",
    "contagion_score",
    "ultimate_controller_share",
)

T = TypeVar("T")


def _timed(timings: dict[str, float] | None, name: str, fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = fn()
    if timings is not None:
        timings[name] = time.perf_counter() - start
    return result


def compute_features(
    frames: GraphFrames,
    *,
    max_circle_length: int = 6,
    chain_hops: int = 3,
    control_threshold: float = 0.5,
    related_by: tuple[str, ...] = LINK_KINDS,
    max_shared_identifier: int = 50,
    at_date: DateLike | None = None,
    amount: str = "amount",
    share: str = "share",
    timings: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Graph features of every company of ``frames.companies`` (in that order).

    Parameters
    ----------
    frames : GraphFrames
        The relationship graph.
    max_circle_length : int
        Longest guarantee circle counted (>= 2).
    chain_hops : int
        Hops of the chain exposure (>= 1).
    control_threshold : float
        Control threshold in (0, 1] (control needs strictly more).
    related_by : tuple of str
        Links forming related-party groups (``controller`` and identifier columns).
    max_shared_identifier : int
        Identifier values shared by more companies than this are ignored.
    at_date : str or date, optional
        Scoring date: only guarantees active then and defaults dated on or before it.
    timings : dict, optional
        Filled with seconds per stage when given.

    Returns
    -------
    DataFrame
        Columns :data:`FEATURE_COLUMNS`, one row per company.

    Complexity
    ----------
    Near-linear in companies + edges, plus the circle enumeration (paths of length < L
    inside guarantee groups) and the ownership pairs (controller, descendant).
    """
    check_max_length(max_circle_length)
    check_hops(chain_hops, "chain_hops")
    check_fraction("control threshold", control_threshold)
    guarantees = _timed(
        timings, "build_guarantees", lambda: guarantee_graph(frames, amount=amount, at_date=at_date)
    )
    owners = _timed(timings, "build_ownership", lambda: ownership_graph(frames, share=share))
    state = _timed(timings, "control", lambda: control_state(owners, control_threshold))
    ctrl_share = _timed(
        timings,
        "controller_share",
        lambda: controller_shares(owners, state.comps, state.controller()),
    )
    count, shortest = _timed(
        timings, "circles", lambda: circle_stats(guarantees, max_circle_length)
    )
    _, group_size = _timed(timings, "groups", lambda: group_labels(guarantees))
    depth, _, exposure = _timed(
        timings, "chain_exposure", lambda: chain_exposure_table(guarantees, chain_hops)
    )
    contagion = _timed(timings, "contagion", lambda: contagion_scores(guarantees))
    nc = guarantees.n

    def neighbours() -> dict[int, np.ndarray]:
        adjacency = neighbourhood_graph(guarantees, state)
        flags = np.zeros(owners.n, dtype=bool)
        flags[:nc] = guarantees.defaulted
        return defaulted_within(adjacency, flags, 2)

    near = _timed(timings, "neighbourhood", neighbours)

    def related() -> tuple[np.ndarray, np.ndarray]:
        labels = related_party_labels(
            frames, state, by=related_by, max_shared=max_shared_identifier
        )
        size = np.bincount(labels, minlength=nc)[labels]
        bad = np.bincount(labels, weights=guarantees.defaulted, minlength=nc)[labels]
        return size - 1, np.rint(bad).astype(np.int64) - guarantees.defaulted

    related_count, related_bad = _timed(timings, "related", related)
    pattern = guarantees.pattern()
    table = pd.DataFrame(
        {
            "company_id": guarantees.ids,
            "in_guarantee_circle": count > 0,
            "guarantee_circle_count": count,
            "shortest_circle_length": shortest,
            "guarantee_group_size": group_size.astype(np.int64),
            "guarantee_out_degree": np.diff(pattern.indptr).astype(np.int64),
            "guarantee_in_degree": np.bincount(pattern.indices, minlength=nc).astype(np.int64),
            "guaranteed_amount_out": np.asarray(guarantees.amount.sum(axis=1)).ravel(),
            "guaranteed_amount_in": np.asarray(guarantees.amount.sum(axis=0)).ravel(),
            "chain_depth": depth,
            "chain_exposure_amount": exposure,
            "related_party_count": related_count.astype(np.int64),
            "related_party_default_count": related_bad.astype(np.int64),
            "defaulted_neighbours_1hop": near[1][:nc],
            "defaulted_neighbours_2hop": near[2][:nc],
            "contagion_score": contagion,
            "ultimate_controller_share": ctrl_share,
        },
        columns=list(FEATURE_COLUMNS),
    )
    return table.iloc[company_rows(frames)].reset_index(drop=True)


def write_features(features: pd.DataFrame, path: str | Path) -> Path:
    """Write ``features`` to ``.parquet`` or ``.csv`` atomically (temp file, then rename).

    Raises ``ValueError`` for another suffix or when a column of :data:`FEATURE_COLUMNS` is
    missing; nothing is left behind on failure.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ValueError(f"feature table path must end in .parquet or .csv; got {str(target)!r}")
    missing = [c for c in FEATURE_COLUMNS if c not in features.columns]
    if missing:
        raise ValueError(f"feature table lacks column(s) {missing}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        if suffix == ".parquet":
            features.to_parquet(tmp, index=False)
        else:
            features.to_csv(tmp, index=False)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
