"""Ego networks for drawing: the nodes within ``hops`` of a company and the edges among them.

Breadth-first over every edge kind, both directions (guarantees, shareholdings), on the
index's CSR adjacency. Nodes are taken ring by ring, nearest first and by id within a ring,
until ``limit`` nodes are in; the answer then says ``truncated``. Edges are every edge whose
two ends are in (the induced subgraph), so a drawn node never misses an edge to another drawn
node.

Example: on the test graph (C1 -> C2 -> C3 -> C1 guarantee circle, P1 holds 60% of C1),
``ego_network(index, "C1", hops=1, limit=10)`` holds C1, C2, C3, P1, P2 and the edges
among them.

Complexity: O(sum of the degrees of the nodes reached) plus a sort of each ring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from graph_risk.api.index import GraphIndex

EDGE_KIND_NAMES = ("guarantee", "shareholding")


@dataclass(frozen=True)
class EgoNetwork:
    """Nodes (positions) with their hop distance, edge ids, and whether ``limit`` cut it."""

    nodes: np.ndarray
    hops: np.ndarray
    edges: np.ndarray
    truncated: bool


def ego_network(index: GraphIndex, company_id: str, hops: int, limit: int) -> EgoNetwork:
    """The ``hops``-ball of a company cut at ``limit`` nodes (see module docstring).

    Raises ``KeyError`` for an unknown company.
    """
    start = index.position(company_id)
    e = index.edges
    order = index.ids
    seen = {start: 0}
    frontier = np.array([start], dtype=np.int64)
    truncated = False
    for hop in range(1, hops + 1):
        if not frontier.size:
            break
        lo, hi = e.indptr[frontier], e.indptr[frontier + 1]
        found = np.unique(
            np.concatenate(
                [e.neighbour[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]
            )
        )
        fresh = [int(v) for v in found.tolist() if v not in seen]
        if len(seen) + len(fresh) > limit:
            fresh.sort(key=lambda v: str(order[v]))
            fresh = fresh[: limit - len(seen)]
            truncated = True
        for v in fresh:
            seen[v] = hop
        frontier = np.array(fresh, dtype=np.int64)
        if truncated:
            break
    nodes = np.fromiter(seen.keys(), dtype=np.int64, count=len(seen))
    dist = np.fromiter(seen.values(), dtype=np.int64, count=len(seen))
    inside = np.zeros(len(index.ids), dtype=bool) if len(nodes) > 4096 else None
    edges: set[int] = set()
    node_set = set(seen)
    if inside is not None:
        inside[nodes] = True
    for v in nodes.tolist():
        a, b = int(e.indptr[v]), int(e.indptr[v + 1])
        for w, k in zip(e.neighbour[a:b].tolist(), e.edge[a:b].tolist(), strict=True):
            if inside[w] if inside is not None else w in node_set:
                edges.add(k)
    return EgoNetwork(nodes, dist, np.array(sorted(edges), dtype=np.int64), truncated)


def node_record(index: GraphIndex, pos: int, hop: int) -> dict[str, Any]:
    """JSON-ready node: id, kind, name, hop, defaulted, default date, circle membership."""
    is_company = pos < index.n_companies
    default_date = index.default_date[pos] if is_company else None
    in_circle = bool(index.in_circle[pos]) if is_company else False
    return {
        "id": str(index.ids[pos]),
        "kind": "company" if is_company else "person",
        "name": str(index.display_names[pos]),
        "hop": hop,
        "defaulted": default_date is not None,
        "default_date": default_date,
        "in_guarantee_circle": in_circle,
    }


def edge_record(index: GraphIndex, edge: int) -> dict[str, Any]:
    """JSON-ready edge: source -> target (guarantor -> borrower, holder -> company), kind,
    share / amount / dates, and whether the shareholding carries control."""
    e = index.edges
    kind = EDGE_KIND_NAMES[int(e.kind[edge])]
    row = int(e.row[edge])
    out: dict[str, Any] = {
        "id": f"{kind[0]}{row}",
        "source": str(index.ids[int(e.src[edge])]),
        "target": str(index.ids[int(e.dst[edge])]),
        "kind": kind,
        "share": None,
        "amount": None,
        "start_date": None,
        "end_date": None,
        "control": bool(e.control[edge]),
    }
    if kind == "guarantee":
        values = index.edge_values
        out["amount"] = float(values["amount"][row])
        out["start_date"] = values["start_date"][row]
        out["end_date"] = values["end_date"][row]
    else:
        out["share"] = float(index.edge_values["share"][row])
    return out
