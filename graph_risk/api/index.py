"""The read-side index the risk-team API answers from: the store's graph, loaded once.

:class:`GraphIndex` reads every table from a :class:`~graph_risk.backends.GraphBackend` (either
backend: the same store ``fedcredit graph ingest`` wrote) and keeps what per-company questions
need in memory: the guarantee and ownership matrices, control resolved for every company, the
graph-feature table, a search index over ids and names and an undirected drawing adjacency over
every edge. Guarantee circles and the related-party partition are built once, on first use.
Per-request work is then proportional to the company's neighbourhood, not to the graph.

The index is a snapshot: a server started before an ingest serves the graph it loaded (restart
it, or call :meth:`GraphIndex.load` again, to pick up new rows).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from graph_risk.algorithms.circles import Circle, find_circles
from graph_risk.algorithms.control import ControlState, control_state
from graph_risk.algorithms.neighbourhood import control_edges
from graph_risk.algorithms.related import RelatedParties
from graph_risk.api.groups import RelatedPartyIndex
from graph_risk.backends import GraphBackend
from graph_risk.build import GuaranteeGraph, company_rows, guarantee_graph, ownership_graph
from graph_risk.features import FEATURE_COLUMNS, compute_features
from graph_risk.frames import COMPANY_COLUMNS, COMPANY_OPTIONAL_COLUMNS, GraphFrames

MAX_CIRCLE_LENGTH = 6


@dataclass(frozen=True)
class DrawingEdges:
    """Every edge of the graph once, over node positions (companies first, then persons).

    ``kind`` is 0 for a guarantee, 1 for a shareholding; ``row`` the edge's row in its table;
    ``control`` marks shareholdings through which control is exercised.
    """

    src: np.ndarray
    dst: np.ndarray
    kind: np.ndarray
    row: np.ndarray
    control: np.ndarray
    indptr: np.ndarray
    neighbour: np.ndarray
    edge: np.ndarray


def _undirected(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, ...]:
    """CSR (indptr, neighbour, edge id) of the undirected multigraph ``src -- dst``."""
    ends = np.concatenate([src, dst])
    other = np.concatenate([dst, src])
    edge = np.concatenate([np.arange(len(src)), np.arange(len(src))])
    order = np.argsort(ends, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=indptr[1:])
    return indptr, other[order].astype(np.int64), edge[order].astype(np.int64)


class GraphIndex:
    """An in-memory snapshot of the relationship graph for the HTTP API (see module doc).

    Parameters
    ----------
    frames : GraphFrames
        The whole graph (canonical tables, e.g. :meth:`GraphBackend.frames`).
    features : DataFrame, optional
        A precomputed graph-feature table (``fedcredit graph features``); computed from
        ``frames`` when omitted.
    source : str
        Where the graph came from (shown in ``describe``).
    """

    def __init__(
        self, frames: GraphFrames, features: pd.DataFrame | None = None, source: str = "memory"
    ) -> None:
        self.frames = frames
        self.source = source
        self.guarantees: GuaranteeGraph = guarantee_graph(frames)
        self.control: ControlState = control_state(ownership_graph(frames))
        owners = self.control.graph
        self.ids: np.ndarray = np.asarray(owners.ids, dtype=object)
        self.n_companies = int(owners.n_companies)
        table = compute_features(frames) if features is None else features
        missing = [c for c in FEATURE_COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"feature table lacks columns {missing} (see graph_risk.features)")
        rows = company_rows(frames)
        self._company_row = np.empty(self.n_companies, dtype=np.int64)
        self._company_row[rows] = np.arange(len(rows))
        by_id = table.set_index("company_id")
        self.features = by_id.reindex(self.ids[: self.n_companies])
        if self.features.isna().all(axis=1).any():
            unknown = self.features.index[self.features.isna().all(axis=1)][:3].tolist()
            raise ValueError(f"feature table has no row for companies {unknown}")
        self.default_date = self._default_dates()
        self.names = self._names()
        self._name_order = np.argsort(self.names, kind="stable")
        self._sorted_names = self.names[self._name_order]
        self.edges = self._drawing_edges()
        g, s = frames.guarantees, frames.shareholdings
        self.edge_values: dict[str, np.ndarray] = {
            "amount": g["amount"].to_numpy(dtype=float),
            "start_date": _dates(g["start_date"]),
            "end_date": _dates(g["end_date"]),
            "share": s["share"].to_numpy(dtype=float),
        }
        self.in_circle = self.features["in_guarantee_circle"].to_numpy(dtype=bool)
        self.contagion = self.features["contagion_score"].to_numpy(dtype=float)
        self.total_equity = float(np.nansum(np.maximum(self.guarantees.net_assets, 0.0)))
        self.fingerprint = self._fingerprint()
        self._circles: list[Circle] | None = None
        self._circles_of: dict[int, list[int]] = {}
        self._related: RelatedPartyIndex | None = None
        self._lock = threading.Lock()
        self._related_lock = threading.Lock()
        self._upstream_lock = threading.Lock()
        self._prepared = threading.Event()

    @classmethod
    def load(cls, backend: GraphBackend, features: Path | None = None) -> GraphIndex:
        """Read the whole store of ``backend`` (and an optional feature file)."""
        frames = backend.frames()
        if frames.companies.empty:
            raise ValueError(
                f"{backend.describe()} holds no companies; run fedcredit graph ingest first"
            )
        table = None
        if features is not None:
            table = (
                pd.read_parquet(features)
                if features.suffix.lower() == ".parquet"
                else pd.read_csv(features, dtype={"company_id": str})
            )
        return cls(frames, table, backend.describe())

    # ------------------------------------------------------------------ building
    def _default_dates(self) -> np.ndarray:
        dates = np.full(self.n_companies, None, dtype=object)
        d = self.frames.defaults
        if len(d):
            pos = self.positions(d["company_id"].astype(str).to_numpy())
            ok = pos >= 0
            dates[pos[ok]] = d["default_date"].astype(str).to_numpy()[ok]
        return dates

    def _names(self) -> np.ndarray:
        """Display names of every node (``display_names``); returns company names folded."""
        names = np.empty(len(self.ids), dtype=object)
        c = self.frames.companies
        names[: self.n_companies] = c["name"].astype(str).to_numpy()[self._company_row]
        p = self.frames.persons
        if len(p):
            ppos = self.nc_person_positions(p["person_id"].astype(str).to_numpy())
            names[ppos] = p["name"].astype(str).to_numpy()
        self.display_names = names
        return np.array([str(x).casefold() for x in names[: self.n_companies]], dtype=object)

    def nc_person_positions(self, person_ids: np.ndarray) -> np.ndarray:
        """Node positions of person ids (all must be known)."""
        persons = self.ids[self.n_companies :]
        return self.n_companies + np.searchsorted(persons, person_ids)

    def _drawing_edges(self) -> DrawingEdges:
        g, s = self.frames.guarantees, self.frames.shareholdings
        gs = self.positions(g["guarantor_id"].astype(str).to_numpy())
        gd = self.positions(g["borrower_id"].astype(str).to_numpy())
        holder = s["holder_id"].astype(str).to_numpy()
        is_person = (s["holder_type"].astype(str) == "person").to_numpy()
        hs = np.where(is_person, 0, self.positions(holder))
        if is_person.any():
            hs[is_person] = self.nc_person_positions(holder[is_person])
        hd = self.positions(s["company_id"].astype(str).to_numpy())
        ch, cc = control_edges(self.control)
        nodes = len(self.ids)
        carrying = set((ch * nodes + cc).tolist())
        control = np.fromiter(
            ((int(a) * nodes + int(b)) in carrying for a, b in zip(hs, hd, strict=True)),
            dtype=bool,
            count=len(hs),
        )
        src = np.concatenate([gs, hs]).astype(np.int64)
        dst = np.concatenate([gd, hd]).astype(np.int64)
        kind = np.concatenate([np.zeros(len(gs), np.int8), np.ones(len(hs), np.int8)])
        row = np.concatenate([np.arange(len(gs)), np.arange(len(hs))])
        ctrl = np.concatenate([np.zeros(len(gs), bool), control])
        indptr, neighbour, edge = _undirected(nodes, src, dst)
        return DrawingEdges(src, dst, kind, row, ctrl, indptr, neighbour, edge)

    def _fingerprint(self) -> str:
        h = hashlib.sha256(self.source.encode())
        for name in ("companies", "persons", "shareholdings", "guarantees", "defaults"):
            h.update(f"{name}:{len(self.frames.table(name))};".encode())
        h.update(str(self.guarantees.amount.sum()).encode())
        return h.hexdigest()[:16]

    # ------------------------------------------------------------------ lookups
    def positions(self, company_ids: np.ndarray) -> np.ndarray:
        """Node position of each company id, -1 where unknown."""
        companies = self.ids[: self.n_companies]
        pos = np.searchsorted(companies, company_ids)
        pos = np.minimum(pos, max(self.n_companies - 1, 0))
        known = companies[pos] == company_ids if self.n_companies else np.zeros(0, bool)
        return np.where(known, pos, -1).astype(np.int64)

    def position(self, company_id: str) -> int:
        """Node position of a company; ``KeyError`` when unknown."""
        pos = int(self.positions(np.array([company_id], dtype=object))[0])
        if pos < 0:
            raise KeyError(company_id)
        return pos

    def company(self, company_id: str) -> dict[str, Any]:
        """The company's registry row plus ``defaulted`` and ``default_date``."""
        pos = self.position(company_id)
        row = self.frames.companies.iloc[int(self._company_row[pos])]
        out: dict[str, Any] = {}
        for column in (*COMPANY_COLUMNS, *COMPANY_OPTIONAL_COLUMNS):
            value = row.get(column)
            out[column] = None if value is None or pd.isna(value) or value == "" else value
        out["default_date"] = self.default_date[pos]
        out["defaulted"] = self.default_date[pos] is not None
        return out

    def feature_row(self, company_id: str) -> dict[str, Any]:
        """The company's graph features as plain Python values."""
        row = self.features.iloc[self.position(company_id)]
        return {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}

    def search(self, query: str, limit: int) -> list[int]:
        """Companies whose id or name starts with ``query`` (case-insensitive names), ids
        first; at most ``limit`` positions, no duplicates.

        Complexity: O(log n + limit) by binary search on the sorted ids and names.
        """
        out: list[int] = []
        companies = self.ids[: self.n_companies]
        lo = int(np.searchsorted(companies, query))
        while lo < self.n_companies and len(out) < limit and str(companies[lo]).startswith(query):
            out.append(lo)
            lo += 1
        folded = query.casefold()
        lo = int(np.searchsorted(self._sorted_names, folded))
        seen = set(out)
        while (
            lo < len(self._sorted_names)
            and len(out) < limit
            and str(self._sorted_names[lo]).startswith(folded)
        ):
            pos = int(self._name_order[lo])
            if pos not in seen:
                out.append(pos)
                seen.add(pos)
            lo += 1
        return out

    # ------------------------------------------------------------------ circles
    def circles(self) -> list[Circle]:
        """Every guarantee circle of length 2..6 (enumerated once, shortest first)."""
        with self._lock:
            if self._circles is None:
                found = find_circles(self.guarantees, max_length=MAX_CIRCLE_LENGTH)
                of: dict[int, list[int]] = {}
                for i, circle in enumerate(found):
                    for member in circle.members:
                        of.setdefault(self.position(member), []).append(i)
                self._circles_of = of
                self._circles = found
            return self._circles

    def circles_through(self, company_id: str) -> list[Circle]:
        """Circles containing the company."""
        everything = self.circles()
        return [everything[i] for i in self._circles_of.get(self.position(company_id), [])]

    # ------------------------------------------------------------------ related parties
    def related_parties(self, company_id: str) -> RelatedParties:
        """The company's related-party group with its links (the partition of the whole
        graph is built once, on first use; identical to
        :func:`graph_risk.algorithms.related.related_parties`)."""
        return self._related_index().lookup(company_id)

    def _related_index(self) -> RelatedPartyIndex:
        with self._related_lock:
            if self._related is None:
                self._related = RelatedPartyIndex(self.frames, self.control)
            return self._related

    # ------------------------------------------------------------------ warm-up
    def prepare(self) -> None:
        """Build now what is otherwise built on first use: guarantee circles, the
        related-party partition and the upstream guarantee adjacency (seconds at 500,000
        companies), so no request pays for it."""
        self.circles()
        self._related_index()
        self._upstream_csr()
        self._prepared.set()

    def prepare_in_background(self) -> threading.Thread:
        """:meth:`prepare` in a daemon thread; requests arriving meanwhile wait only for the
        part they need (each part has its own lock). :attr:`ready` tells when it is done."""
        thread = threading.Thread(target=self.prepare, name="graph-index-prepare", daemon=True)
        thread.start()
        return thread

    @property
    def ready(self) -> bool:
        """Whether :meth:`prepare` has finished."""
        return self._prepared.is_set()

    # ------------------------------------------------------------------ sub-graphs
    def upstream(self, company_id: str, hops: int | None) -> GuaranteeGraph:
        """The guarantee graph induced by the company and its guarantors within ``hops``
        (every hop when ``None``): enough for chain exposure and DebtRank what-ifs, whose
        cascade runs against guarantee edges only."""
        node = self.position(company_id)
        upstream = self._upstream_csr()
        seen = np.zeros(self.n_companies, dtype=bool)
        seen[node] = True
        frontier = np.array([node])
        step = 0
        while frontier.size and (hops is None or step < hops):
            nxt = _neighbours(upstream.indptr, upstream.indices, frontier)
            nxt = nxt[~seen[nxt]]
            seen[nxt] = True
            frontier = nxt
            step += 1
        keep = np.flatnonzero(seen)
        g = self.guarantees
        return GuaranteeGraph(
            g.ids[keep],
            sp.csr_array(g.amount[keep][:, keep]),
            g.net_assets[keep],
            g.total_assets[keep],
            g.defaulted[keep],
        )

    def _upstream_csr(self) -> sp.csr_array:
        with self._upstream_lock:
            cached = getattr(self, "_upstream", None)
            if cached is None:
                cached = sp.csr_array(self.guarantees.amount.T)
                cached.sort_indices()
                self._upstream = cached
            return cached


def _dates(column: pd.Series) -> np.ndarray:
    """ISO strings (``None`` where missing) as an object array, indexed by row."""
    return np.array([None if v is None or v != v else str(v) for v in column], dtype=object)


def _neighbours(indptr: np.ndarray, indices: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Unique neighbours of ``nodes`` in a CSR adjacency."""
    starts, ends = indptr[nodes], indptr[nodes + 1]
    counts = ends - starts
    if counts.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    return np.unique(indices[offsets])
