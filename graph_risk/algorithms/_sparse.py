"""Vectorised CSR helpers shared by the graph algorithms (no Python loop per edge)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph


def expand(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """All out-edges of ``rows`` of a CSR structure.

    Returns ``(owner, neighbour, edge)``: ``owner[e]`` is the position in ``rows`` of the
    edge's source, ``neighbour[e]`` its target and ``edge[e]`` its position in ``indices``.
    """
    rows = np.asarray(rows, dtype=np.int64)
    starts = indptr[rows].astype(np.int64)
    counts = indptr[rows + 1].astype(np.int64) - starts
    owner = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
    offsets = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts
    )
    edge = np.repeat(starts, counts) + offsets
    return owner, indices[edge].astype(np.int64), edge


def edge_keys(matrix: sp.csr_array) -> np.ndarray:
    """Sorted ``row * n_cols + col`` keys of a CSR matrix with sorted indices."""
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    return rows * matrix.shape[1] + matrix.indices.astype(np.int64)


def lookup(keys: np.ndarray, n_cols: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Position of each (row, col) in ``keys`` (from :func:`edge_keys`), -1 when absent."""
    wanted = rows.astype(np.int64) * n_cols + cols.astype(np.int64)
    if len(keys) == 0:
        return np.full(len(wanted), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.where(keys[pos] == wanted, pos, -1)


def unique_ints(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array (sort-based; numpy's hash-based
    ``np.unique`` is far slower on large integer arrays)."""
    ordered = np.sort(np.asarray(values, dtype=np.int64))
    if ordered.size == 0:
        return ordered
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]


def sorted_contains(haystack: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Membership of ``values`` in the sorted array ``haystack`` (binary search)."""
    if len(haystack) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(haystack, values), len(haystack) - 1)
    return haystack[pos] == values


def sorted_merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Merge two sorted arrays of distinct values into one sorted array."""
    return np.insert(a, np.searchsorted(a, b), b)


def strong_components(matrix: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """Strongly connected component label of every node and the size of every component
    (Pearce's algorithm in ``scipy.sparse.csgraph``, O(n + m))."""
    _, labels = csgraph.connected_components(matrix, directed=True, connection="strong")
    labels = labels.astype(np.int64)
    return labels, np.bincount(labels)


def topological_levels(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Longest-path level of every node of a DAG given as edge arrays (Kahn's algorithm, one
    vectorised step per level). Raises ``ValueError`` when the graph has a cycle."""
    order = np.argsort(src, kind="stable")
    targets = dst[order].astype(np.int64)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]).astype(np.int64)
    indegree = np.bincount(dst, minlength=n).astype(np.int64)
    level = np.full(n, -1, dtype=np.int64)
    frontier = np.flatnonzero(indegree == 0)
    depth = 0
    while frontier.size:
        level[frontier] = depth
        _, nb, _ = expand(indptr, targets, frontier)
        if nb.size == 0:
            break
        touched, counts = np.unique(nb, return_counts=True)
        indegree[touched] -= counts
        frontier = touched[indegree[touched] == 0]
        depth += 1
    if (level < 0).any():
        raise ValueError("graph has a cycle; topological levels need a DAG")
    return level


def bounded_bfs(
    indptr: np.ndarray, indices: np.ndarray, start: int, hops: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Breadth-first search from ``start`` for at most ``hops`` edges.

    Returns ``(nodes, distance, parent)`` for every reached node other than ``start`` in
    order of discovery; ``parent`` is the BFS-tree predecessor (the smallest one).
    """
    nodes: list[np.ndarray] = []
    dists: list[np.ndarray] = []
    parents: list[np.ndarray] = []
    frontier = np.array([start], dtype=np.int64)
    seen = np.zeros(0, dtype=np.int64)
    for depth in range(1, hops + 1):
        owner, nb, _ = expand(indptr, indices, frontier)
        parent = frontier[owner]
        fresh = ~np.isin(nb, seen) & (nb != start)
        nb, parent = nb[fresh], parent[fresh]
        if nb.size == 0:
            break
        order = np.lexsort((parent, nb))
        nb, parent = nb[order], parent[order]
        first = np.concatenate([[True], nb[1:] != nb[:-1]])
        nb, parent = nb[first], parent[first]
        nodes.append(nb)
        dists.append(np.full(len(nb), depth, dtype=np.int64))
        parents.append(parent)
        seen = np.concatenate([seen, nb])
        frontier = nb
    if not nodes:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(nodes), np.concatenate(dists), np.concatenate(parents)


def path_to_root(node: int, parent_of: dict[int, int], root: int) -> list[int]:
    """Follow BFS ``parent_of`` links from ``node`` back to ``root``; returns node..root."""
    path = [node]
    while path[-1] != root:
        path.append(parent_of[path[-1]])
    return path
