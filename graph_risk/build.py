"""Build sparse (``scipy.sparse``) and networkx graphs from :class:`GraphFrames` and friends.

Every relationship-graph algorithm works on one of two indexed graphs built here:

* :class:`GuaranteeGraph` -- companies only; ``amount[g, b]`` is the summed amount of the
  (active) guarantees that guarantor ``g`` gives for borrower ``b``. Node arrays carry
  ``net_assets``, ``total_assets`` and the ``defaulted`` flag.
* :class:`OwnershipGraph` -- companies then persons; ``share[h, c]`` is the share of company
  ``c`` held directly by holder ``h``.

Companies are indexed in sorted-id order (so the smallest index is the smallest id), and when
both graphs are built from the same :class:`GraphFrames` a company has the same index in both.
A source may be a :class:`GraphFrames`, an edge-list ``DataFrame`` with the ``frames.py``
columns (``guarantor_id, borrower_id, <amount>`` or ``holder_id, holder_type, company_id,
<share>``) or a ``networkx.DiGraph`` whose edges carry the attribute named by ``amount`` /
``share`` (node labels are converted with ``str``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from graph_risk.frames import COMPANY_COLUMNS, GraphFrames

GraphSource: TypeAlias = GraphFrames | pd.DataFrame | nx.DiGraph
DateLike: TypeAlias = str | dt.date | np.datetime64

SHARE_TOLERANCE = 1e-9
_ID_TYPE = pa.large_string()


class GraphDataError(ValueError):
    """Bad graph input; the message names the table, row, column and rule."""


def _cell_error(table: str, row: int, column: str, rule: str, value: object) -> GraphDataError:
    return GraphDataError(
        f"table {table!r}, row {row} (0-based), column {column!r}: {rule}; got {value!r}"
    )


def parse_date(value: DateLike) -> np.datetime64:
    """Parse an ISO ``YYYY-MM-DD`` string or a date into ``numpy.datetime64[D]``."""
    try:
        if isinstance(value, np.datetime64):
            return value.astype("datetime64[D]")
        if isinstance(value, dt.datetime):
            value = value.date()
        day = dt.date.fromisoformat(value) if isinstance(value, str) else value
        return np.datetime64(day.isoformat(), "D")
    except ValueError as exc:
        raise ValueError(f"date must be ISO YYYY-MM-DD; got {value!r}") from exc


def _date_column(frame: pd.DataFrame, table: str, column: str) -> np.ndarray:
    """Column as ``datetime64[D]`` (NaT where empty); invalid strings raise naming the row."""
    raw = frame[column]
    parsed = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")
    bad = parsed.isna().to_numpy() & raw.notna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _cell_error(table, row, column, "must be an ISO date YYYY-MM-DD", raw.iloc[row])
    return parsed.to_numpy().astype("datetime64[D]")


def _require(frame: pd.DataFrame, table: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise GraphDataError(f"table {table!r} lacks required column(s) {missing}")


def _id_array(frame: pd.DataFrame, column: str, table: str) -> pa.Array:
    """Identifier column as an Arrow string array; an empty identifier raises naming the row."""
    values = frame[column]
    missing = values.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise _cell_error(table, row, column, "identifier must not be empty", None)
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array(values.astype(str).to_numpy(dtype=object))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == _ID_TYPE else pc.cast(arr, _ID_TYPE)


def _float_column(frame: pd.DataFrame, table: str, column: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _cell_error(table, row, column, "must be a finite number", frame[column].iloc[row])
    return values


@dataclass(frozen=True)
class IdIndex:
    """Sorted distinct identifiers with vectorised lookup (an Arrow hash join, no Python
    string objects)."""

    ids: pa.Array

    @classmethod
    def unique(cls, values: pa.Array, table: str, column: str) -> IdIndex:
        """Index of ``values``, which must be distinct (else the first repeat is named)."""
        distinct = pc.unique(values)
        if len(distinct) != len(values):
            repeat = pd.Series(values.to_numpy(zero_copy_only=False)).duplicated().to_numpy()
            row = int(np.flatnonzero(repeat)[0])
            raise _cell_error(table, row, column, "identifiers must be unique", values[row].as_py())
        return cls(distinct.take(pc.array_sort_indices(distinct)))

    @classmethod
    def union(cls, *parts: pa.Array) -> IdIndex:
        """Index of the distinct values of ``parts``."""
        joined = pa.concat_arrays([pa.array([], type=_ID_TYPE), *parts])
        distinct = pc.unique(joined)
        return cls(distinct.take(pc.array_sort_indices(distinct)))

    def __len__(self) -> int:
        return len(self.ids)

    def lookup(self, values: pa.Array) -> np.ndarray:
        """Position of each value, -1 when absent."""
        found = pc.index_in(values, value_set=self.ids).fill_null(-1)
        return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)

    def positions(
        self, values: pa.Array, table: str, column: str, of: str, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Like :meth:`lookup` but an absent value raises naming its table row (``rows`` maps
        a subset of the table back to its row numbers)."""
        pos = self.lookup(values)
        if (pos < 0).any():
            first = int(np.flatnonzero(pos < 0)[0])
            row = first if rows is None else int(rows[first])
            raise _cell_error(
                table, row, column, f"must name a row of {of!r}", values[first].as_py()
            )
        return pos

    def to_numpy(self) -> np.ndarray:
        """The ids as a numpy object array."""
        return np.asarray(self.ids.to_numpy(zero_copy_only=False), dtype=object)


def _active(
    frame: pd.DataFrame, table: str, start: str, end: str, at_date: DateLike | None
) -> np.ndarray:
    """Mask of rows with ``start <= at_date <= end`` (an empty date is open-ended)."""
    if at_date is None:
        return np.ones(len(frame), dtype=bool)
    day = parse_date(at_date)
    first = _date_column(frame, table, start)
    last = _date_column(frame, table, end)
    return (np.isnat(first) | (first <= day)) & (np.isnat(last) | (last >= day))


@dataclass(frozen=True)
class GuaranteeGraph:
    """Companies and their guarantees as a CSR matrix (see module docstring).

    Attributes
    ----------
    ids : numpy.ndarray
        Company ids, sorted; position ``i`` is node ``i``.
    amount : scipy.sparse.csr_array
        ``amount[g, b]`` = summed amount of active guarantees from ``g`` for ``b``; no
        self-loops (a company guaranteeing itself is not a relationship).
    net_assets, total_assets : numpy.ndarray
        Per company (NaN where unknown).
    defaulted : numpy.ndarray
        Boolean, per company.
    """

    ids: np.ndarray
    amount: sp.csr_array
    net_assets: np.ndarray
    total_assets: np.ndarray
    defaulted: np.ndarray

    @property
    def n(self) -> int:
        """Number of companies."""
        return len(self.ids)

    def position(self, company_id: str) -> int:
        """Index of ``company_id``; ``ValueError`` when it is not a company of the graph."""
        i = int(np.searchsorted(self.ids, company_id))
        if i >= len(self.ids) or self.ids[i] != company_id:
            raise ValueError(f"unknown company {company_id!r}")
        return i

    def pattern(self) -> sp.csr_array:
        """The 0/1 adjacency (``int8``) with sorted indices."""
        adj = sp.csr_array(
            (np.ones(self.amount.nnz, dtype=np.int8), self.amount.indices, self.amount.indptr),
            shape=self.amount.shape,
        )
        adj.sort_indices()
        return adj


@dataclass(frozen=True)
class OwnershipGraph:
    """Holders (companies then persons) and companies, ``share[h, c]`` as a CSR matrix.

    Attributes
    ----------
    ids : numpy.ndarray
        Node ids: ``ids[:n_companies]`` are the sorted company ids, the rest sorted person ids.
    n_companies : int
        Number of companies.
    share : scipy.sparse.csr_array
        ``share[h, c]`` = direct share of company ``c`` held by ``h`` (duplicates summed).
    """

    ids: np.ndarray
    n_companies: int
    share: sp.csr_array

    @property
    def n(self) -> int:
        """Number of nodes (companies and persons)."""
        return len(self.ids)

    def kind(self, node: int) -> str:
        """``"company"`` or ``"person"``."""
        return "company" if node < self.n_companies else "person"

    def position(self, node_id: str, kind: str = "company") -> int:
        """Index of the company (or person) ``node_id``; ``ValueError`` when unknown."""
        lo, hi = (0, self.n_companies) if kind == "company" else (self.n_companies, self.n)
        i = lo + int(np.searchsorted(self.ids[lo:hi], node_id))
        if i >= hi or self.ids[i] != node_id:
            raise ValueError(f"unknown {kind} {node_id!r}")
        return i

    def subgraph(self, nodes: np.ndarray) -> OwnershipGraph:
        """The graph induced by ``nodes`` (kept in index order, companies first)."""
        nodes = np.sort(nodes)
        nodes = nodes[np.concatenate([[True], nodes[1:] != nodes[:-1]])] if len(nodes) else nodes
        n_comp = int(np.searchsorted(nodes, self.n_companies))
        sub = self.share[nodes][:, nodes]
        return OwnershipGraph(ids=self.ids[nodes], n_companies=n_comp, share=sp.csr_array(sub))


def _company_table(frames: GraphFrames) -> tuple[IdIndex, np.ndarray]:
    """Company index and the sorted position of every ``companies`` row."""
    _require(frames.companies, "companies", ("company_id",))
    ids = _id_array(frames.companies, "company_id", "companies")
    index = IdIndex.unique(ids, "companies", "company_id")
    return index, index.lookup(ids)


def company_index(frames: GraphFrames) -> pd.Index:
    """Sorted, validated-unique company ids of ``frames``."""
    return pd.Index(_company_table(frames)[0].to_numpy(), dtype=object)


def company_rows(frames: GraphFrames) -> np.ndarray:
    """For each row of ``frames.companies``, the company's index in the built graphs."""
    return _company_table(frames)[1]


def _company_float(frames: GraphFrames, rows: np.ndarray, column: str) -> np.ndarray:
    companies = frames.companies
    out = np.full(len(rows), np.nan)
    if column not in companies.columns:
        return out
    values = pd.to_numeric(companies[column], errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) & companies[column].notna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _cell_error("companies", row, column, "must be a number", companies[column].iloc[row])
    out[rows] = values
    return out


def defaulted_mask(
    frames: GraphFrames, index: IdIndex, at_date: DateLike | None = None
) -> np.ndarray:
    """Companies with a default dated on or before ``at_date`` (all defaults when ``None``;
    a default without a date always counts)."""
    table = frames.defaults
    _require(table, "defaults", ("company_id",))
    mask = np.zeros(len(index), dtype=bool)
    if len(table) == 0:
        return mask
    ids = _id_array(table, "company_id", "defaults")
    pos = index.positions(ids, "defaults", "company_id", "companies")
    keep = np.ones(len(table), dtype=bool)
    if at_date is not None and "default_date" in table.columns:
        day = parse_date(at_date)
        when = _date_column(table, "defaults", "default_date")
        keep = np.isnat(when) | (when <= day)
    mask[pos[keep]] = True
    return mask


def _guarantees_from_frame(
    edges: pd.DataFrame, index: IdIndex | None, amount: str, at_date: DateLike | None, table: str
) -> tuple[IdIndex, np.ndarray, np.ndarray, np.ndarray]:
    _require(edges, table, ("guarantor_id", "borrower_id", amount))
    guarantor = _id_array(edges, "guarantor_id", table)
    borrower = _id_array(edges, "borrower_id", table)
    if index is None:
        index = IdIndex.union(guarantor, borrower)
    g = index.positions(guarantor, table, "guarantor_id", "companies")
    b = index.positions(borrower, table, "borrower_id", "companies")
    amt = _float_column(edges, table, amount)
    if (amt < 0).any():
        row = int(np.flatnonzero(amt < 0)[0])
        raise _cell_error(table, row, amount, "guarantee amount must be >= 0", amt[row])
    keep = _active(edges, table, "start_date", "end_date", at_date) & (g != b)
    return index, g[keep], b[keep], amt[keep]


def guarantee_graph(
    source: GraphSource,
    *,
    amount: str = "amount",
    at_date: DateLike | None = None,
    defaulted: list[str] | None = None,
) -> GuaranteeGraph:
    """Build the :class:`GuaranteeGraph` of ``source``.

    Parameters
    ----------
    source : GraphFrames, DataFrame or networkx.DiGraph
        Frames (all companies become nodes), a guarantees edge list, or a digraph with edges
        guarantor -> borrower carrying ``amount`` (missing: 1.0), optional ``start_date`` /
        ``end_date`` edge attributes and ``net_assets`` / ``total_assets`` / ``defaulted``
        node attributes.
    amount : str
        Edge attribute / column holding the guaranteed amount.
    at_date : str or date, optional
        Keep only guarantees active at this date (``start_date <= at_date <= end_date``,
        empty dates open-ended) and defaults dated on or before it.
    defaulted : list of str, optional
        Overrides the defaulted companies (else ``frames.defaults`` / node attribute).
    """
    if isinstance(source, GraphFrames):
        index, rows = _company_table(source)
        index, g, b, amt = _guarantees_from_frame(
            source.guarantees, index, amount, at_date, "guarantees"
        )
        net = _company_float(source, rows, "net_assets")
        total = _company_float(source, rows, "total_assets")
        flags = defaulted_mask(source, index, at_date)
    elif isinstance(source, pd.DataFrame):
        index, g, b, amt = _guarantees_from_frame(source, None, amount, at_date, "guarantees")
        net = np.full(len(index), np.nan)
        total = np.full(len(index), np.nan)
        flags = np.zeros(len(index), dtype=bool)
    elif isinstance(source, nx.DiGraph):
        index, g, b, amt, net, total, flags = _guarantees_from_networkx(source, amount, at_date)
    else:
        raise TypeError(f"expected GraphFrames, DataFrame or networkx.DiGraph; got {type(source)}")
    if defaulted is not None:
        flags = np.zeros(len(index), dtype=bool)
        wanted = pa.array([str(d) for d in defaulted], type=_ID_TYPE)
        flags[index.positions(wanted, "defaulted", "company_id", "companies")] = True
    n = len(index)
    matrix = sp.coo_array((amt, (g, b)), shape=(n, n)).tocsr()
    matrix.sum_duplicates()
    matrix.sort_indices()
    return GuaranteeGraph(
        ids=index.to_numpy(),
        amount=matrix,
        net_assets=net,
        total_assets=total,
        defaulted=flags,
    )


def _guarantees_from_networkx(
    graph: nx.DiGraph, amount: str, at_date: DateLike | None
) -> tuple[IdIndex, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    index = IdIndex.union(pa.array([str(v) for v in graph.nodes], type=_ID_TYPE))
    rows = [
        (str(u), str(v), d.get(amount, 1.0), d.get("start_date"), d.get("end_date"))
        for u, v, d in graph.edges(data=True)
    ]
    edges = pd.DataFrame(
        rows, columns=["guarantor_id", "borrower_id", amount, "start_date", "end_date"]
    )
    _, g, b, amt = _guarantees_from_frame(edges, index, amount, at_date, "graph edges")

    where = index.lookup(pa.array([str(v) for v in graph.nodes], type=_ID_TYPE))

    def node_array(attr: str) -> np.ndarray:
        out = np.full(len(index), np.nan)
        out[where] = [
            np.nan if value is None else float(value) for _, value in graph.nodes(data=attr)
        ]
        return out

    flags = np.zeros(len(index), dtype=bool)
    flags[where] = [bool(value) for _, value in graph.nodes(data="defaulted")]
    return index, g, b, amt, node_array("net_assets"), node_array("total_assets"), flags


def ownership_graph(
    source: GraphSource, *, share: str = "share", holder_type: str = "holder_type"
) -> OwnershipGraph:
    """Build the :class:`OwnershipGraph` of ``source`` and validate the shares.

    Each ``share`` must lie in (0, 1] and the shares of one company may sum to at most 1.

    Parameters
    ----------
    source : GraphFrames, DataFrame or networkx.DiGraph
        Frames, a shareholdings edge list, or a digraph with edges holder -> company carrying
        ``share``; a node's kind is its ``holder_type`` attribute when present, otherwise
        ``company`` when it has shareholders and ``person`` when it has none.
    share : str
        Column / edge attribute with the share.
    holder_type : str
        Column / node attribute with ``person`` or ``company``.
    """
    companies: IdIndex | None
    persons: IdIndex | None
    if isinstance(source, GraphFrames):
        companies = _company_table(source)[0]
        _require(source.persons, "persons", ("person_id",))
        person_ids = _id_array(source.persons, "person_id", "persons")
        persons = IdIndex.unique(person_ids, "persons", "person_id")
        edges = source.shareholdings
    elif isinstance(source, pd.DataFrame):
        edges = source
        companies = persons = None
    elif isinstance(source, nx.DiGraph):
        edges, companies, persons = _ownership_from_networkx(source, share, holder_type)
    else:
        raise TypeError(f"expected GraphFrames, DataFrame or networkx.DiGraph; got {type(source)}")
    table = "shareholdings"
    _require(edges, table, ("holder_id", holder_type, "company_id", share))
    holder = _id_array(edges, "holder_id", table)
    held = _id_array(edges, "company_id", table)
    kinds = edges[holder_type].astype(str).str.strip().str.lower()
    is_person = (kinds == "person").to_numpy(dtype=bool)
    bad_kind = ~(is_person | (kinds == "company").to_numpy(dtype=bool))
    if bad_kind.any():
        row = int(np.flatnonzero(bad_kind)[0])
        raise _cell_error(table, row, holder_type, "must be 'person' or 'company'", kinds.iloc[row])
    by_company = holder.filter(pa.array(~is_person))
    by_person = holder.filter(pa.array(is_person))
    if companies is None or persons is None:
        companies = IdIndex.union(held, by_company)
        persons = IdIndex.union(by_person)
    nc = len(companies)
    h = np.empty(len(edges), dtype=np.int64)
    rows = np.arange(len(edges))
    h[~is_person] = companies.positions(
        by_company, table, "holder_id", "companies", rows[~is_person]
    )
    h[is_person] = nc + persons.positions(by_person, table, "holder_id", "persons", rows[is_person])
    c = companies.positions(held, table, "company_id", "companies")
    values = _float_column(edges, table, share)
    bad = (values <= 0) | (values > 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _cell_error(table, row, share, "share must be in (0, 1]", values[row])
    totals = np.bincount(c, weights=values, minlength=nc)
    if (totals > 1 + SHARE_TOLERANCE).any():
        worst = int(np.argmax(totals))
        raise GraphDataError(
            f"table {table!r}, column {share!r}: the shares of company "
            f"{companies.ids[worst].as_py()!r} "
            f"sum to {totals[worst]:.6g}; they must sum to at most 1"
        )
    n = nc + len(persons)
    matrix = sp.coo_array((values, (h, c)), shape=(n, n)).tocsr()
    matrix.sum_duplicates()
    matrix.sort_indices()
    ids = np.concatenate([companies.to_numpy(), persons.to_numpy()])
    return OwnershipGraph(ids=ids, n_companies=nc, share=matrix)


def _ownership_from_networkx(
    graph: nx.DiGraph, share: str, holder_type: str
) -> tuple[pd.DataFrame, IdIndex, IdIndex]:
    def kind(v: object) -> str:
        value = graph.nodes[v].get(holder_type)
        if value is not None:
            return str(value).strip().lower()
        return "company" if graph.in_degree(v) > 0 else "person"

    kinds = {str(v): kind(v) for v in graph.nodes}
    bad = [v for v, k in kinds.items() if k not in ("person", "company")]
    if bad:
        raise GraphDataError(f"node {bad[0]!r}: {holder_type!r} must be 'person' or 'company'")
    rows = [(str(u), kinds[str(u)], str(v), d.get(share)) for u, v, d in graph.edges(data=True)]
    edges = pd.DataFrame(rows, columns=["holder_id", holder_type, "company_id", share])
    companies = IdIndex.union(
        pa.array([v for v, k in kinds.items() if k == "company"], type=_ID_TYPE)
    )
    persons = IdIndex.union(pa.array([v for v, k in kinds.items() if k == "person"], type=_ID_TYPE))
    return edges, companies, persons


def to_networkx_guarantees(
    frames: GraphFrames, *, at_date: DateLike | None = None, amount: str = "amount"
) -> nx.DiGraph:
    """All companies as nodes (``net_assets``, ``total_assets``, ``defaulted`` attributes) and
    one edge guarantor -> borrower per pair with the summed active ``amount``."""
    graph = guarantee_graph(frames, amount=amount, at_date=at_date)
    out = nx.DiGraph()
    for i, cid in enumerate(graph.ids):
        out.add_node(
            cid,
            net_assets=float(graph.net_assets[i]),
            total_assets=float(graph.total_assets[i]),
            defaulted=bool(graph.defaulted[i]),
        )
    coo = graph.amount.tocoo()
    out.add_weighted_edges_from(
        zip(graph.ids[coo.row], graph.ids[coo.col], coo.data.tolist(), strict=True), weight=amount
    )
    return out


def to_networkx_ownership(frames: GraphFrames, *, share: str = "share") -> nx.DiGraph:
    """Companies and persons as nodes (``holder_type`` attribute), edges holder -> company
    with the (summed) ``share``. Node keys are ``(kind, id)`` tuples only when a person and a
    company share an id; otherwise plain ids."""
    graph = ownership_graph(frames, share=share)
    kinds = np.where(np.arange(graph.n) < graph.n_companies, "company", "person")
    clash = len(set(graph.ids[: graph.n_companies]) & set(graph.ids[graph.n_companies :])) > 0
    keys = [(k, i) for k, i in zip(kinds, graph.ids, strict=True)] if clash else list(graph.ids)
    out = nx.DiGraph()
    for key, kind in zip(keys, kinds, strict=True):
        out.add_node(key, holder_type=str(kind))
    coo = graph.share.tocoo()
    triples = zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    out.add_weighted_edges_from(((keys[r], keys[c], s) for r, c, s in triples), weight=share)
    return out


def as_guarantee_graph(
    source: GraphSource | GuaranteeGraph, *, amount: str = "amount", at_date: DateLike | None = None
) -> GuaranteeGraph:
    """``source`` itself when already a :class:`GuaranteeGraph`, else :func:`guarantee_graph`."""
    if isinstance(source, GuaranteeGraph):
        if at_date is not None:
            raise ValueError(
                "at_date cannot filter an already built GuaranteeGraph; "
                "pass the frames or build it with guarantee_graph(at_date=...)"
            )
        return source
    return guarantee_graph(source, amount=amount, at_date=at_date)


def as_ownership_graph(
    source: GraphSource | OwnershipGraph, *, share: str = "share"
) -> OwnershipGraph:
    """``source`` itself when already an :class:`OwnershipGraph`, else :func:`ownership_graph`."""
    if isinstance(source, OwnershipGraph):
        return source
    return ownership_graph(source, share=share)


def frames_from_records(
    *,
    companies: Iterable[str | Mapping[str, Any]] = (),
    shareholdings: Iterable[tuple[str, str, str, float]] = (),
    guarantees: Iterable[tuple[Any, ...]] = (),
    defaults: Iterable[str | tuple[str, str]] = (),
) -> GraphFrames:
    """Small :class:`GraphFrames` from plain records (examples, notebooks, tests).

    Parameters
    ----------
    companies : ids or dicts
        Dicts may set any ``companies`` column; missing numbers default to 1.0, texts to
        the id / "". Companies named only in the other records are added with defaults.
    shareholdings : (holder_id, holder_type, company_id, share)
    guarantees : (guarantor_id, borrower_id, amount[, start_date[, end_date]])
    defaults : company id or (company_id, default_date)

    Examples
    --------
    >>> f = frames_from_records(shareholdings=[("P", "person", "A", 0.6)],
    ...                         guarantees=[("A", "B", 50.0)], defaults=["B"])
    >>> sorted(f.companies.company_id)
    ['A', 'B']
    """
    rows: dict[str, dict[str, Any]] = {}

    def add(company_id: str, values: Mapping[str, Any] | None = None) -> None:
        row = rows.setdefault(
            company_id,
            {
                "company_id": company_id,
                "name": company_id,
                "industry": "",
                "region": "",
                "registered_capital": 1.0,
                "total_assets": 1.0,
                "net_assets": 1.0,
                "founded_year": 2000,
            },
        )
        row.update(values or {})

    for item in companies:
        if isinstance(item, str):
            add(item)
        else:
            add(str(item["company_id"]), item)
    holdings = [(str(h), str(k), str(c), float(v)) for h, k, c, v in shareholdings]
    person_ids: list[str] = []
    for holder, kind, company, _ in holdings:
        add(company)
        if kind == "company":
            add(holder)
        elif holder not in person_ids:
            person_ids.append(holder)
    guarantee_rows = []
    for g in guarantees:
        start = g[3] if len(g) > 3 else None
        end = g[4] if len(g) > 4 else None
        add(g[0])
        add(g[1])
        guarantee_rows.append((g[0], g[1], float(g[2]), start, end))
    default_rows = []
    for d in defaults:
        company, when = (d, None) if isinstance(d, str) else d
        add(company)
        default_rows.append((company, when))
    frame = pd.DataFrame(list(rows.values()))
    ordered = [*COMPANY_COLUMNS, *[c for c in frame.columns if c not in COMPANY_COLUMNS]]
    return GraphFrames(
        companies=frame[ordered] if len(frame) else pd.DataFrame(columns=list(COMPANY_COLUMNS)),
        persons=pd.DataFrame({"person_id": person_ids, "name": person_ids}),
        shareholdings=pd.DataFrame(
            holdings, columns=["holder_id", "holder_type", "company_id", "share"]
        ),
        guarantees=pd.DataFrame(
            guarantee_rows,
            columns=["guarantor_id", "borrower_id", "amount", "start_date", "end_date"],
        ),
        defaults=pd.DataFrame(default_rows, columns=["company_id", "default_date"]),
    )
