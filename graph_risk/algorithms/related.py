"""Related-party groups: shared ultimate controller plus shared identifiers.

Two companies are *linked* when they share an ultimate controller (a company nobody controls
shares one with the companies it controls: itself; a control cycle counts as one controller)
or, optionally, the same value of one of the identifier columns ``legal_rep_id``, ``address``
or ``phone`` of ``companies`` (compared after trimming, collapsing whitespace and
lower-casing; empty values never link). An identifier value shared by more than
``max_shared`` companies (default 50: a registered-agent address, a call-centre number) is
ignored. A related-party group is a connected component of these links (transitively: A and
B share a controller, B and C an address -> A, B, C are one group).

Algorithm: a bipartite graph company -- key (controller or identifier value) and its
connected components with ``scipy.sparse.csgraph`` -- O(n + links).

Reference: IAS 24 "Related Party Disclosures" (control and common control define related
parties); Basel Committee (2014), "Supervisory framework for measuring and controlling large
exposures", section on groups of connected counterparties (control + economic dependence).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse import csgraph

from graph_risk.algorithms.control import ControlState, control_state
from graph_risk.build import company_index, company_rows, ownership_graph
from graph_risk.frames import COMPANY_OPTIONAL_COLUMNS, GraphFrames

LINK_KINDS: tuple[str, ...] = ("controller", *COMPANY_OPTIONAL_COLUMNS)


def _check(by: tuple[str, ...], max_shared: int) -> None:
    unknown = [k for k in by if k not in LINK_KINDS]
    if unknown:
        raise ValueError(f"related-party links must be among {LINK_KINDS}; got {unknown}")
    if isinstance(max_shared, bool) or not isinstance(max_shared, int) or max_shared < 2:
        raise ValueError(f"max_shared must be an integer >= 2; got {max_shared!r}")


def _identifier_codes(values: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Code per row of the normalised value (-1: empty) and the first raw spelling per code.

    Normalising (trim, collapse whitespace, lower-case) and encoding run in Arrow compute.
    """
    try:
        raw = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raw = pa.array(values.astype("string"), from_pandas=True)
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    raw = pc.cast(raw, pa.large_string())
    norm = pc.utf8_lower(pc.replace_substring_regex(pc.utf8_trim_whitespace(raw), r"\s+", " "))
    norm = pc.if_else(pc.equal(norm, ""), pa.scalar(None, pa.large_string()), norm)
    encoded = pc.dictionary_encode(norm)
    codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    present = np.flatnonzero(codes >= 0)
    order = np.argsort(codes[present], kind="stable")
    ranked = codes[present][order]
    first = (
        present[order][np.concatenate([[True], ranked[1:] != ranked[:-1]])]
        if len(ranked)
        else present
    )
    return codes, raw.take(pa.array(first))


def related_links(
    frames: GraphFrames, state: ControlState, by: tuple[str, ...], max_shared: int
) -> tuple[np.ndarray, np.ndarray, list[str], list[np.ndarray | pa.Array]]:
    """Edges company -> key plus, per key, its kind and display value."""
    nc = state.graph.n_companies
    companies = np.arange(nc, dtype=np.int64)
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    kinds: list[str] = []
    labels: list[np.ndarray | pa.Array] = []
    offset = 0
    if "controller" in by:
        display = state.graph.ids.astype(object).copy()
        for rep, members in state.cycles.items():
            display[rep] = ";".join(str(x) for x in state.graph.ids[list(members)])
        src.append(companies)
        dst.append(state.root[:nc])
        kinds.append("controller")
        labels.append(display)
        offset = state.graph.n
    rows = company_rows(frames)
    for column in by:
        if column == "controller" or column not in frames.companies.columns:
            continue
        codes, shown = _identifier_codes(frames.companies[column])
        present = codes >= 0
        codes = codes[present]
        users = np.bincount(codes, minlength=len(shown))
        keep = users[codes] <= max_shared
        src.append(rows[present][keep])
        dst.append(offset + codes[keep])
        kinds.append(column)
        labels.append(shown)
        offset += len(shown)
    return (
        np.concatenate(src) if src else np.zeros(0, dtype=np.int64),
        np.concatenate(dst) if dst else np.zeros(0, dtype=np.int64),
        kinds,
        labels,
    )


def related_party_labels(
    frames: GraphFrames,
    state: ControlState | None = None,
    *,
    by: tuple[str, ...] = LINK_KINDS,
    max_shared: int = 50,
    threshold: float = 0.5,
    share: str = "share",
) -> np.ndarray:
    """Group label of every company (index order of :func:`.build.company_index`); the label
    is the smallest company index of the group.

    Complexity
    ----------
    O(n + m) after :func:`.control.control_state`.
    """
    _check(by, max_shared)
    if state is None:
        state = control_state(ownership_graph(frames, share=share), threshold)
    nc = state.graph.n_companies
    src, dst, _, _ = related_links(frames, state, by, max_shared)
    size = nc + (int(dst.max()) + 1 if dst.size else 0)
    links = sp.csr_array((np.ones(len(src), dtype=np.int8), (src, nc + dst)), shape=(size, size))
    _, comp = csgraph.connected_components(links, directed=False)
    labels = comp[:nc]
    _, first = np.unique(labels, return_index=True)
    smallest = np.zeros(int(comp.max()) + 1 if size else 0, dtype=np.int64)
    smallest[labels[first]] = first
    return smallest[labels]


def related_party_groups(
    frames: GraphFrames,
    *,
    by: tuple[str, ...] = LINK_KINDS,
    max_shared: int = 50,
    threshold: float = 0.5,
    share: str = "share",
) -> list[tuple[str, ...]]:
    """Related-party groups with at least two companies, members sorted, largest first."""
    labels = related_party_labels(
        frames, by=by, max_shared=max_shared, threshold=threshold, share=share
    )
    ids = company_index(frames).to_numpy(dtype=object)
    sizes = np.bincount(labels, minlength=len(labels))
    order = np.flatnonzero(sizes[labels] >= 2)
    order = order[np.lexsort((order, labels[order]))]
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    groups = [tuple(str(x) for x in ids[p]) for p in np.split(order, cuts) if len(p)]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


@dataclass(frozen=True)
class RelatedParties:
    """Answer of :func:`related_parties`: the other members of the company's group and the
    links that bind the group, ``(company, kind, value)`` for every shared key."""

    company_id: str
    members: tuple[str, ...]
    links: list[tuple[str, str, str]] = field(default_factory=list)


def related_parties(
    frames: GraphFrames,
    company_id: str,
    *,
    by: tuple[str, ...] = LINK_KINDS,
    max_shared: int = 50,
    threshold: float = 0.5,
    share: str = "share",
) -> RelatedParties:
    """The related-party group of ``company_id`` with its evidence.

    Examples
    --------
    P controls A and B; B and C share the address "1 Main St": the group of A is
    ``("B", "C")`` with links ``("A", "controller", "P"), ("B", "controller", "P"),
    ("B", "address", "1 Main St"), ("C", "address", "1 Main St")``.

    Complexity
    ----------
    O(n + m): the grouping needs every controller.
    """
    _check(by, max_shared)
    state = control_state(ownership_graph(frames, share=share), threshold)
    node = state.graph.position(company_id)
    labels = related_party_labels(frames, state, by=by, max_shared=max_shared)
    group = np.flatnonzero(labels == labels[node])
    src, dst, kinds, display = related_links(frames, state, by, max_shared)
    member = np.zeros(state.graph.n_companies, dtype=bool)
    member[group] = True
    in_group = member[src]
    src, dst = src[in_group], dst[in_group]
    users = pd.Series(src).groupby(dst).nunique()
    shared = set(users.index[users.to_numpy() >= 2].tolist())
    bounds = np.cumsum([0] + [len(d) for d in display])
    links = []
    for c, key in sorted(zip(src.tolist(), dst.tolist(), strict=True), key=lambda t: (t[1], t[0])):
        if key not in shared:
            continue
        part = int(np.searchsorted(bounds, key, side="right")) - 1
        shown = display[part][key - bounds[part]]
        value = str(shown.as_py() if isinstance(shown, pa.Scalar) else shown)
        links.append((str(state.graph.ids[c]), kinds[part], value))
    members = tuple(str(state.graph.ids[c]) for c in group if c != node)
    return RelatedParties(company_id, members, links)
