"""Integrated ownership through shareholding chains and cross-holdings.

With the share matrix ``S`` (``S[i, j]`` = share of company ``j`` held directly by ``i``), the
*integrated ownership* of holder ``h`` in company ``c`` is the sum over all directed walks from
``h`` to ``c`` of the product of the shares along the walk; a walk may go round a
cross-holding cycle any number of times. Summing the geometric series gives

    O = S + S^2 + S^3 + ... = S (I - S)^-1 = (I - S)^-1 - I,

which converges exactly when the spectral radius of ``S`` is below 1. Column sums of ``S`` are
at most 1, so by Perron-Frobenius the series diverges only on a strongly connected set of
companies each of which is held 100% by the others in the set ("wholly held inside a cycle");
that case raises :class:`WhollyHeldCycleError` naming the companies.

Cross-holdings are solved exactly, never by truncating walk length: per query we solve
``(I - S_AA) y = e_c`` on the ancestors ``A`` of ``c`` (sparse LU); in bulk we split
``S = D + N`` into the strongly-connected blocks ``D`` and the acyclic rest ``N``, so that
``(I - S)^-1 = (I - T)^-1 Z`` with ``Z = (I - D)^-1`` (small dense block inverses) and
``T = Z N`` nilpotent -- its Neumann series is a *finite* sum.

Note: for a person (who holds no shares of itself) or any holder outside every cycle through
``c``, ``O[h, c]`` is the probability that the upward random walk from ``c`` reaches ``h`` and
so lies in [0, 1]. A company inside a cross-holding cycle with ``c`` counts its own stake
again on every round trip, so its ``O[h, c]`` can exceed 1 (A holds 0.99 of B, B holds 0.5 of
A: ``O[A, B] = 0.99 / (1 - 0.495) = 1.96``); that is the definition, not an error.

Reference: Brioschi, Buzzacchi & Colombo (1989), "Risk capital financing and the separation
of ownership and control in business groups", J. Banking & Finance 13; Vitali, Glattfelder &
Battiston (2011), "The network of global corporate control", PLoS ONE 6(10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.sparse.linalg import spsolve

from graph_risk.algorithms._sparse import edge_keys, lookup, strong_components, unique_ints
from graph_risk.build import SHARE_TOLERANCE, GraphSource, OwnershipGraph, ownership_graph

MAX_DENSE_BLOCK = 2000


class WhollyHeldCycleError(ValueError):
    """A set of companies is held 100% inside a cross-holding cycle; ownership diverges."""

    def __init__(self, companies: tuple[str, ...]) -> None:
        self.companies = companies
        super().__init__(
            "integrated ownership diverges: companies "
            + ", ".join(companies)
            + " are wholly held inside a cross-holding cycle (each is 100% owned by the "
            "others in the cycle, so no share leaves the cycle)"
        )


@dataclass(frozen=True)
class OwnerShare:
    """One holder's integrated ownership of a company."""

    holder: str
    holder_type: str
    share: float


@dataclass(frozen=True)
class Components:
    """Strongly connected components of an ownership graph.

    ``labels[v]`` is the component of node ``v``; ``cyclic[k]`` is true when component ``k``
    has a cycle (two or more nodes, or a self-holding).
    """

    labels: np.ndarray
    sizes: np.ndarray
    cyclic: np.ndarray

    def members(self) -> dict[int, np.ndarray]:
        """Sorted node indices of every cyclic component, keyed by component label."""
        nodes = np.flatnonzero(self.cyclic[self.labels])
        if nodes.size == 0:
            return {}
        nodes = nodes[np.argsort(self.labels[nodes], kind="stable")]
        labs = self.labels[nodes]
        cuts = np.flatnonzero(np.diff(labs)) + 1
        starts = np.concatenate([[0], cuts])
        return {int(labs[st]): part for st, part in zip(starts, np.split(nodes, cuts), strict=True)}


def components(graph: OwnershipGraph) -> Components:
    """Components of ``graph``; raises :class:`WhollyHeldCycleError` when one is wholly held.

    Complexity O(n + m).
    """
    labels, sizes = strong_components(graph.share)
    coo = graph.share.tocoo()
    h, c, s = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    cyclic = sizes >= 2
    cyclic[labels[h[h == c]]] = True
    inside = labels[h] == labels[c]
    inside &= cyclic[labels[c]]
    if inside.any():
        held_inside = np.bincount(c[inside], weights=s[inside], minlength=graph.n)
        nodes = np.flatnonzero(cyclic[labels])
        worst = np.full(len(sizes), np.inf)
        np.minimum.at(worst, labels[nodes], held_inside[nodes])
        closed = np.flatnonzero(cyclic & (worst >= 1.0 - SHARE_TOLERANCE))
        if closed.size:
            members = np.flatnonzero(labels == closed[0])
            raise WhollyHeldCycleError(tuple(str(x) for x in graph.ids[members]))
    return Components(labels=labels, sizes=sizes, cyclic=cyclic)


def ancestors(graph: OwnershipGraph, node: int) -> np.ndarray:
    """Sorted indices of ``node`` and every holder that reaches it through shareholdings."""
    order = csgraph.breadth_first_order(
        sp.csr_array(graph.share.T), node, directed=True, return_predecessors=False
    )
    return np.sort(np.asarray(order, dtype=np.int64))


def ownership_column(graph: OwnershipGraph, node: int) -> np.ndarray:
    """Dense ``O[:, node]`` for a graph whose nodes are all ancestors of ``node``.

    Solves ``(I - S) y = e_node`` by sparse LU; ``O[:, node] = y - e_node``.
    """
    components(graph)
    system = sp.csc_array(sp.eye_array(graph.n, format="csc") - graph.share)
    rhs = np.zeros(graph.n)
    rhs[node] = 1.0
    y = np.atleast_1d(spsolve(system, rhs))
    y[node] -= 1.0
    return np.asarray(y, dtype=float)


def integrated_ownership(
    source: GraphSource | OwnershipGraph, company_id: str, *, share: str = "share"
) -> list[OwnerShare]:
    """Integrated ownership of every holder of ``company_id`` (see module docstring).

    Parameters
    ----------
    source : GraphFrames, DataFrame, networkx.DiGraph or OwnershipGraph
        The shareholdings (``share`` names the column / edge attribute).
    company_id : str
        The company whose holders are wanted.

    Returns
    -------
    list of OwnerShare
        Every holder ``h != company_id`` with ``O[h, c] > 0``, largest first.

    Examples
    --------
    A holds 40% of B, B holds 30% of A, P holds 60% of A: the walks from P to A are
    P-A, P-A-B-A, ... so ``O[P, A] = 0.6 (1 + 0.12 + 0.12^2 + ...) = 0.6 / 0.88 = 0.6818``.

    Complexity
    ----------
    Ancestor search O(n + m), then a sparse LU on the ancestors of ``company_id`` only.
    """
    graph = source if isinstance(source, OwnershipGraph) else ownership_graph(source, share=share)
    node = graph.position(company_id)
    nodes = ancestors(graph, node)
    sub = graph.subgraph(nodes)
    column = ownership_column(sub, int(np.searchsorted(nodes, node)))
    out = [
        OwnerShare(str(sub.ids[i]), sub.kind(int(i)), float(column[i]))
        for i in np.flatnonzero(column > 0)
        if nodes[i] != node
    ]
    return sorted(out, key=lambda o: (-o.share, o.holder_type, o.holder))


def block_inverse(
    graph: OwnershipGraph, comps: Components, blocks: dict[int, np.ndarray]
) -> sp.csr_array:
    """``Z = (I - D)^-1`` as a sparse matrix: dense inverses of the cyclic components' blocks,
    1 on the diagonal elsewhere. Blocks of equal size are inverted in one batched call."""
    n = graph.n
    rows: list[np.ndarray] = [np.flatnonzero(~comps.cyclic[comps.labels])]
    cols: list[np.ndarray] = [rows[0]]
    vals: list[np.ndarray] = [np.ones(len(rows[0]))]
    by_size: dict[int, list[np.ndarray]] = {}
    for members in blocks.values():
        if len(members) > MAX_DENSE_BLOCK:
            raise ValueError(
                f"cross-holding component of {len(members)} companies (first "
                f"{graph.ids[members[0]]!r}) exceeds {MAX_DENSE_BLOCK}: integrated ownership "
                "inside it is dense (every member owns part of every other), so it is not "
                "computed in bulk; use integrated_ownership() per company"
            )
        by_size.setdefault(len(members), []).append(members)
    local = np.zeros(n, dtype=np.int64)
    block_of = np.full(n, -1, dtype=np.int64)
    coo = graph.share.tocoo()
    h, c, s = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    for size, group in by_size.items():
        members = np.stack(group)
        local[members] = np.arange(size)[None, :]
        block_of[members] = np.arange(len(group))[:, None]
        inside = (block_of[h] >= 0) & (block_of[h] == block_of[c])
        system = np.broadcast_to(np.eye(size), (len(group), size, size)).copy()
        np.subtract.at(system, (block_of[h[inside]], local[h[inside]], local[c[inside]]), s[inside])
        inverse = np.linalg.inv(system)
        rows.append(np.repeat(members, size, axis=1).ravel())
        cols.append(np.tile(members, (1, size)).ravel())
        vals.append(inverse.reshape(len(group), -1).ravel())
        block_of[members] = -1
    return sp.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    ).tocsr()


def controller_shares(
    graph: OwnershipGraph, comps: Components, controller: np.ndarray
) -> np.ndarray:
    """``O[controller[c], c]`` for every company ``c`` with ``controller[c] >= 0`` (else 0).

    Computes the rows of ``O`` for the distinct controllers ``R`` only:
    ``O[R, :] = (sum_j S[R, :] T^j) Z`` with ``T = Z N`` -- a finite sum because ``T`` is
    nilpotent.

    Complexity
    ----------
    O(depth * P) sparse work for ``P`` (controller, descendant) pairs and ``depth`` the
    longest chain of the condensed holding graph, plus ``O(|X|^3)`` per cross-holding
    component ``X``.
    """
    nc = graph.n_companies
    out = np.zeros(nc)
    has = np.flatnonzero(controller[:nc] >= 0)
    if has.size == 0:
        return out
    owners = unique_ints(controller[has])
    inverse = block_inverse(graph, comps, comps.members())
    coo = graph.share.tocoo()
    h, c = coo.row, coo.col
    within = (comps.labels[h] == comps.labels[c]) & comps.cyclic[comps.labels[h]]
    acyclic = sp.csr_array((coo.data[~within], (h[~within], c[~within])), shape=graph.share.shape)
    transfer = sp.csr_array(inverse @ acyclic)
    term = sp.csr_array(graph.share[owners])
    terms = [term.tocoo()]
    for _ in range(graph.n + 1):
        term = sp.csr_array(term @ transfer)
        term.eliminate_zeros()
        if term.nnz == 0:
            break
        terms.append(term.tocoo())
    walks = sp.coo_array(
        (
            np.concatenate([t.data for t in terms]),
            (np.concatenate([t.row for t in terms]), np.concatenate([t.col for t in terms])),
        ),
        shape=(len(owners), graph.n),
    ).tocsr()
    owned = sp.csr_array(walks @ inverse)
    owned.sum_duplicates()
    owned.sort_indices()
    pos = lookup(edge_keys(owned), graph.n, np.searchsorted(owners, controller[has]), has)
    out[has] = np.where(pos >= 0, owned.data[np.maximum(pos, 0)], 0.0)
    return out
