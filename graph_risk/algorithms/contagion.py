"""Default contagion over guarantees: DebtRank (Battiston et al. 2012).

Every company carries a relative equity loss ``h`` in [0, 1]. Defaulted companies start at
``h = 1``. When borrower ``b`` is distressed its guarantor ``g`` loses ``W[g, b] * h[b]`` with
the impact

    W[g, b] = min(1, amount(g guarantees b) / net_assets(g))   (net_assets <= 0: W = 1).

Each step ``h_g(t) = min(1, h_g(t-1) + sum_{b distressed at t-1} W[g, b] h_b(t-1))``; a company
becomes *distressed* the step after its loss turns positive and passes its loss on exactly
once (then it is *inactive*), so the process stops after at most ``n`` steps. On the chain
D (defaulted) <- G1 (guarantees D for 50, net assets 100) <- G2 (guarantees G1 for 100, net
assets 100): ``h(G1) = 0.5`` and ``h(G2) = min(1, 100/100) * 0.5 = 0.5``.

Reference: Battiston, Puliga, Kaushik, Tasca & Caldarelli (2012), "DebtRank: Too central to
fail? Financial networks, the FED and systemic risk", Scientific Reports 2:541.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from graph_risk.algorithms._sparse import bounded_bfs
from graph_risk.build import (
    DateLike,
    GraphDataError,
    GraphSource,
    GuaranteeGraph,
    as_guarantee_graph,
)

Path = list[tuple[str, str, float]]


def impact_matrix(graph: GuaranteeGraph) -> sp.csr_array:
    """``W[g, b] = min(1, amount[g, b] / net_assets[g])``, 1 where net assets are <= 0.

    Raises :class:`GraphDataError` naming a guarantor without net assets.
    """
    coo = graph.amount.tocoo()
    net = graph.net_assets[coo.row]
    if np.isnan(net).any():
        bad = graph.ids[coo.row[np.isnan(net)][0]]
        raise GraphDataError(
            f"companies: guarantor {bad!r} has no net_assets; DebtRank impact needs it"
        )
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        weight = np.where(net > 0, np.minimum(1.0, coo.data / np.where(net > 0, net, 1.0)), 1.0)
    out = sp.csr_array((weight, (coo.row, coo.col)), shape=graph.amount.shape)
    out.eliminate_zeros()
    return out


def debtrank(impact: sp.csr_array, shocked: np.ndarray) -> np.ndarray:
    """Final relative equity losses ``h`` after shocking the ``shocked`` companies to 1.

    Complexity
    ----------
    One sparse mat-vec per step restricted to the distressed columns; at most ``n`` steps,
    in practice the longest guarantee chain from a shocked company.
    """
    h = shocked.astype(float)
    distressed = shocked.copy()
    done = np.zeros(len(h), dtype=bool)
    impact_csc = sp.csc_array(impact)
    while distressed.any():
        cols = np.flatnonzero(distressed)
        delta = impact_csc[:, cols] @ h[cols]
        updated = np.minimum(1.0, h + delta)
        done |= distressed
        distressed = (updated > 0) & ~done
        h = updated
    return h


def contagion_scores(graph: GuaranteeGraph) -> np.ndarray:
    """DebtRank losses of every company given the observed defaults (defaulted: 1)."""
    return debtrank(impact_matrix(graph), graph.defaulted)


def contagion(
    source: GraphSource | GuaranteeGraph,
    *,
    defaulted: list[str] | None = None,
    at_date: DateLike | None = None,
    amount: str = "amount",
) -> dict[str, float]:
    """DebtRank contagion score ``h`` in [0, 1] of every company.

    Parameters
    ----------
    source : GraphFrames, DataFrame, networkx.DiGraph or GuaranteeGraph
        Guarantees with the companies' ``net_assets``.
    defaulted : list of str, optional
        Companies that start at ``h = 1`` (default: the observed defaults).
    at_date : str or date, optional
        Only guarantees active at this date (and defaults on or before it).

    Examples
    --------
    The chain in the module docstring gives ``{"D": 1.0, "G1": 0.5, "G2": 0.5}``.

    Complexity
    ----------
    See :func:`debtrank`.
    """
    graph = as_guarantee_graph(source, amount=amount, at_date=at_date)
    if defaulted is not None:
        graph = _with_defaults(graph, defaulted)
    h = contagion_scores(graph)
    return {str(i): float(v) for i, v in zip(graph.ids, h, strict=True)}


def _with_defaults(graph: GuaranteeGraph, defaulted: list[str]) -> GuaranteeGraph:
    flags = np.zeros(graph.n, dtype=bool)
    for company in defaulted:
        flags[graph.position(company)] = True
    return GuaranteeGraph(graph.ids, graph.amount, graph.net_assets, graph.total_assets, flags)


@dataclass(frozen=True)
class WhatIf:
    """Answer of :func:`what_if_default`.

    ``system_loss`` is the equity lost by the other companies, ``sum h_j * max(E_j, 0)``;
    ``relative_loss`` the same share of all (positive) equity -- DebtRank's ``R``;
    ``affected`` maps each hit company to its loss ``h``; ``paths`` the shortest guarantee
    chain from each affected company (largest loss first, ``max_paths`` of them) down to the
    defaulted one.
    """

    company_id: str
    system_loss: float
    relative_loss: float
    affected: dict[str, float] = field(default_factory=dict)
    paths: list[Path] = field(default_factory=list)


def what_if_default(
    source: GraphSource | GuaranteeGraph,
    company_id: str,
    *,
    include_observed: bool = False,
    at_date: DateLike | None = None,
    amount: str = "amount",
    max_paths: int = 20,
) -> WhatIf:
    """Total system loss if ``company_id`` defaulted (DebtRank what-if).

    Parameters
    ----------
    include_observed : bool
        Also shock the observed defaults and report only the *extra* loss over that
        baseline (default: the company alone).
    max_paths : int
        Evidence chains kept.

    Examples
    --------
    On the chain of the module docstring, ``what_if_default(g, "D")`` gives
    ``affected = {"G1": 0.5, "G2": 0.5}`` and ``system_loss = 0.5 * 100 + 0.5 * 100 = 100``.

    Complexity
    ----------
    Two DebtRank runs at most (see :func:`debtrank`) plus a BFS for the evidence.
    """
    if max_paths < 0:
        raise ValueError(f"max_paths must be >= 0; got {max_paths}")
    graph = as_guarantee_graph(source, amount=amount, at_date=at_date)
    node = graph.position(company_id)
    impact = impact_matrix(graph)
    shocked = np.zeros(graph.n, dtype=bool)
    shocked[node] = True
    baseline = np.zeros(graph.n)
    if include_observed:
        shocked |= graph.defaulted
        baseline = debtrank(impact, graph.defaulted)
    extra = np.maximum(debtrank(impact, shocked) - baseline, 0.0)
    extra[node] = 0.0
    equity = np.where(np.isnan(graph.net_assets), 0.0, np.maximum(graph.net_assets, 0.0))
    total_equity = float(equity.sum())
    loss = float(extra @ equity)
    hit = np.flatnonzero(extra > 0)
    hit = hit[np.lexsort((graph.ids[hit], -extra[hit]))]
    upstream = sp.csr_array(graph.amount.T)
    upstream.sort_indices()
    nodes, _, parent = bounded_bfs(upstream.indptr, upstream.indices, node, graph.n)
    parent_of = dict(zip(nodes.tolist(), parent.tolist(), strict=True))
    paths: list[Path] = []
    for u in hit[:max_paths].tolist():
        chain = [u]
        while chain[-1] != node:
            chain.append(parent_of[chain[-1]])
        paths.append(
            [
                (str(graph.ids[a]), str(graph.ids[b]), float(graph.amount[a, b]))
                for a, b in itertools.pairwise(chain)
            ]
        )
    return WhatIf(
        company_id=company_id,
        system_loss=loss,
        relative_loss=loss / total_equity if total_equity > 0 else 0.0,
        affected={str(graph.ids[j]): float(extra[j]) for j in hit},
        paths=paths,
    )
