"""Guarantee circles (bounded simple cycles) and guarantee groups (strong components).

A *guarantee circle* is a simple directed cycle ``v1 -> v2 -> ... -> vk -> v1`` of guarantees
(guarantor -> borrower, no repeated company) with ``2 <= k <= L``; it is reported once, in the
rotation that starts at its smallest company id. A *guarantee group* is a strongly connected
component of the guarantee graph with at least two companies -- every circle lies inside one.
Two overlapping 2-cycles F<->G, G<->H are two circles of length 2; F-G-H-G-F repeats G and is
no circle.

Algorithm: a bounded Johnson-style search (each cycle rooted at its smallest node and
extended only through larger nodes, so it is found exactly once) restricted to the edges
inside strongly connected components, run breadth-first over *all* roots at once on CSR
arrays: one numpy step per length extends every open path by every out-edge, drops repeats,
and closes cycles; the last step only tests the closing edge by binary search.

Reference: Johnson (1975), "Finding all the elementary circuits of a directed graph", SIAM J.
Comput. 4(1); Gupta & Suzumura (2021), "Finding all bounded-length simple cycles in a directed
graph", arXiv:2105.10094 (the algorithm behind ``networkx.simple_cycles(G, length_bound)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from graph_risk.algorithms._sparse import edge_keys, expand, lookup, strong_components
from graph_risk.build import DateLike, GraphSource, GuaranteeGraph, as_guarantee_graph

CHUNK_ROWS = 1 << 18


@dataclass(frozen=True)
class Circle:
    """One guarantee circle: ``members[i]`` guarantees ``members[i + 1]`` (cyclically) for
    ``amounts[i]``; ``members[0]`` is the smallest id."""

    members: tuple[str, ...]
    amounts: tuple[float, ...]

    @property
    def length(self) -> int:
        """Number of companies on the circle."""
        return len(self.members)


def check_max_length(max_length: int) -> int:
    """Validate the circle length bound (an integer >= 2)."""
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
        raise ValueError(f"max circle length must be an integer >= 2; got {max_length!r}")
    return max_length


def cyclic_edges(adjacency: sp.csr_array, trim_rounds: int = 2) -> tuple[sp.csr_array, np.ndarray]:
    """The subgraph of the strong components with >= 2 nodes.

    Returns ``(inner, nodes)``: ``inner`` is the 0/1 CSR adjacency of those components'
    internal edges over local indices, and ``nodes[i]`` the graph index of local node ``i``
    (increasing, so local order is graph order). ``trim_rounds`` rounds of dropping nodes
    without in- or out-edges (they lie on no cycle) shrink the graph cheaply first.
    """
    n = adjacency.shape[0]
    src = np.repeat(np.arange(n, dtype=np.int64), np.diff(adjacency.indptr))
    dst = adjacency.indices.astype(np.int64)
    keep = src != dst
    for _ in range(trim_rounds):
        alive = np.bincount(src[keep], minlength=n) > 0
        alive &= np.bincount(dst[keep], minlength=n) > 0
        keep &= alive[src] & alive[dst]
    src, dst = src[keep], dst[keep]
    present = np.zeros(n, dtype=bool)
    present[src] = True
    present[dst] = True
    nodes = np.flatnonzero(present)
    local = np.full(n, -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    src, dst = local[src], local[dst]
    shape = (len(nodes), len(nodes))
    labels, sizes = strong_components(
        sp.csr_array((np.ones(len(src), dtype=np.int8), (src, dst)), shape=shape)
    )
    on_cycle = sizes[labels] >= 2
    inside = (labels[src] == labels[dst]) & on_cycle[src]
    relabel = np.cumsum(on_cycle) - 1
    size = int(on_cycle.sum())
    inner = sp.csr_array(
        (np.ones(int(inside.sum()), dtype=np.int8), (relabel[src[inside]], relabel[dst[inside]])),
        shape=(size, size),
    )
    inner.sort_indices()
    return inner, nodes[on_cycle]


def _search(
    inner: sp.csr_array, roots: np.ndarray, max_length: int, anchored: bool
) -> dict[int, list[np.ndarray]]:
    """Breadth-first bounded cycle search from ``roots`` (see module docstring).

    Not anchored: a path may only visit nodes larger than its root, so each cycle is found
    once, from its smallest node. Anchored: any node but the root, so every cycle through
    the (single) root is found once.
    """
    n = inner.shape[0]
    keys = edge_keys(inner)
    found: dict[int, list[np.ndarray]] = {k: [] for k in range(2, max_length + 1)}
    work = [roots.astype(np.int64).reshape(-1, 1)]
    while work:
        paths = work.pop()
        if len(paths) > CHUNK_ROWS:
            work.extend(np.array_split(paths, -(-len(paths) // CHUNK_ROWS)))
            continue
        depth = paths.shape[1]
        owner, nb, _ = expand(inner.indptr, inner.indices, paths[:, -1])
        root = paths[owner, 0]
        if depth >= 2:
            closing = nb == root
            if closing.any():
                found[depth].append(paths[owner[closing]])
        if depth == max_length:
            continue
        ok = nb != root if anchored else nb > root
        for j in range(1, depth):
            ok &= nb != paths[owner, j]
        owner, nb, root = owner[ok], nb[ok], root[ok]
        if depth + 1 == max_length:
            closes = lookup(keys, n, nb, root) >= 0
            if closes.any():
                found[depth + 1].append(np.column_stack([paths[owner[closes]], nb[closes]]))
            continue
        if len(nb):
            work.append(np.column_stack([paths[owner], nb]))
    return found


def _canonical(cycles: np.ndarray) -> np.ndarray:
    """Rotate every row so it starts at its smallest entry."""
    length = cycles.shape[1]
    shift = np.argmin(cycles, axis=1)
    index = (np.arange(length)[None, :] + shift[:, None]) % length
    return np.take_along_axis(cycles, index, axis=1)


def circle_arrays(graph: GuaranteeGraph, max_length: int = 6) -> dict[int, np.ndarray]:
    """All circles of ``graph`` as index arrays: ``{length: array (count, length)}``, each row
    canonical (starting at its smallest index), rows sorted.

    Complexity
    ----------
    O(n + m) for the components plus O(P * L) for the ``P`` simple paths of length < L that
    stay inside a component and above their root.
    """
    check_max_length(max_length)
    inner, nodes = cyclic_edges(graph.pattern())
    found = _search(inner, np.arange(len(nodes)), max_length, anchored=False)
    out: dict[int, np.ndarray] = {}
    for length, parts in found.items():
        rows = nodes[np.concatenate(parts)] if parts else np.zeros((0, length), dtype=np.int64)
        out[length] = rows[np.lexsort(rows.T[::-1])] if len(rows) else rows
    return out


def _as_circles(graph: GuaranteeGraph, rows: np.ndarray) -> list[Circle]:
    keys = edge_keys(graph.amount)
    out = []
    for row in rows:
        nxt = np.roll(row, -1)
        pos = lookup(keys, graph.n, row, nxt)
        out.append(
            Circle(
                members=tuple(str(x) for x in graph.ids[row]),
                amounts=tuple(float(a) for a in graph.amount.data[pos]),
            )
        )
    return out


def find_circles(
    source: GraphSource | GuaranteeGraph,
    *,
    max_length: int = 6,
    amount: str = "amount",
    at_date: DateLike | None = None,
) -> list[Circle]:
    """Every guarantee circle of length 2..``max_length``, shortest first.

    Examples
    --------
    Guarantees F->G, G->F, G->H, H->G give ``[Circle(("F", "G")), Circle(("G", "H"))]``.

    Complexity
    ----------
    See :func:`circle_arrays`.
    """
    graph = as_guarantee_graph(source, amount=amount, at_date=at_date)
    arrays = circle_arrays(graph, max_length)
    return [c for length in sorted(arrays) for c in _as_circles(graph, arrays[length])]


def circles_through(
    source: GraphSource | GuaranteeGraph,
    company_id: str,
    *,
    max_length: int = 6,
    amount: str = "amount",
    at_date: DateLike | None = None,
) -> list[Circle]:
    """Guarantee circles of length 2..``max_length`` that contain ``company_id``.

    The search starts at the company, stays inside its strong component and may visit any
    other node, so each circle through it is found exactly once; results are rotated to
    start at their smallest id and sorted by length then members.

    Examples
    --------
    With A->B, B->C, C->A and the chord A->C, the circles through A are the 2-cycle
    ``("A", "C")`` (chord plus C->A) and the triangle ``("A", "B", "C")``.

    Complexity
    ----------
    O(n + m) plus the simple paths of length < L from the company inside its component.
    """
    check_max_length(max_length)
    graph = as_guarantee_graph(source, amount=amount, at_date=at_date)
    node = graph.position(company_id)
    inner, nodes = cyclic_edges(graph.pattern())
    pos = int(np.searchsorted(nodes, node))
    if pos >= len(nodes) or nodes[pos] != node:
        return []
    found = _search(inner, np.array([pos]), max_length, anchored=True)
    out: list[Circle] = []
    for length in sorted(found):
        if not found[length]:
            continue
        rows = _canonical(nodes[np.concatenate(found[length])])
        rows = rows[np.lexsort(rows.T[::-1])]
        out.extend(_as_circles(graph, rows))
    return out


def group_labels(graph: GuaranteeGraph) -> tuple[np.ndarray, np.ndarray]:
    """Strong-component label of every company and the guarantee-group size per company
    (0 for companies in no group)."""
    labels, sizes = strong_components(graph.pattern())
    size = sizes[labels]
    return labels, np.where(size >= 2, size, 0)


def guarantee_groups(
    source: GraphSource | GuaranteeGraph,
    *,
    amount: str = "amount",
    at_date: DateLike | None = None,
) -> list[tuple[str, ...]]:
    """Guarantee groups: strongly connected components with >= 2 companies, each sorted,
    largest first (ties by first id).

    Complexity
    ----------
    O(n + m) (Pearce's algorithm via ``scipy.sparse.csgraph``). Reference: Tarjan (1972),
    "Depth-first search and linear graph algorithms", SIAM J. Comput. 1(2).
    """
    graph = as_guarantee_graph(source, amount=amount, at_date=at_date)
    labels, size = group_labels(graph)
    nodes = np.flatnonzero(size >= 2)
    nodes = nodes[np.lexsort((nodes, labels[nodes]))]
    cuts = np.flatnonzero(np.diff(labels[nodes])) + 1
    groups = [tuple(str(x) for x in graph.ids[part]) for part in np.split(nodes, cuts) if len(part)]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def circle_stats(graph: GuaranteeGraph, max_length: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Per company: number of circles through it and the shortest circle length (0: none)."""
    count = np.zeros(graph.n, dtype=np.int64)
    shortest = np.zeros(graph.n, dtype=np.int64)
    for length, rows in sorted(circle_arrays(graph, max_length).items()):
        if not len(rows):
            continue
        hits = np.bincount(rows.ravel(), minlength=graph.n)
        count += hits
        shortest[(hits > 0) & (shortest == 0)] = length
    return count, shortest
