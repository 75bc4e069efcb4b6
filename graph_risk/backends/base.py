"""The graph-store interface shared by the embedded (networkx) and Bolt (neo4j) backends.

A backend stores the five tables of :class:`~graph_risk.frames.GraphFrames` and answers the
few questions everything else is built on: the whole graph as tables (:meth:`frames`, heavy
algorithms then run in Python), one company (:meth:`company`), the k-hop neighbourhood of a
company as tables (:meth:`ego_frames`) and row counts (:meth:`counts`). Writes go through
:meth:`upsert`, which validates the batch against the store (see :mod:`graph_risk.ingest`),
writes only new or changed rows and is therefore idempotent.

Subclasses implement three primitives (:meth:`_rows_where`, :meth:`_incident_edges`,
:meth:`_write`) plus :meth:`frames`, :meth:`counts`, :meth:`clear`, :meth:`close` and
:meth:`describe`; validation, diffing and the neighbourhood search live here, so both backends
behave identically.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from graph_risk.frames import TABLE_COLUMNS, GraphFrames
from graph_risk.ingest import (
    TABLE_KEYS,
    KnownGraph,
    all_columns,
    canonical_table,
    referenced_ids,
    validate_frames,
)

EDGE_KINDS: tuple[str, ...] = ("guarantee", "shareholding")
DIRECTIONS: tuple[str, ...] = ("both", "in", "out")
Edge = tuple[str, str, str, float | None, float | None, str | None, str | None]
"""An incident edge: ``(kind, source, target, share, amount, start_date, end_date)`` where
``kind`` is ``"guarantee"`` or ``"shareholding"`` and ``source`` the guarantor/holder."""
MAX_HOPS = 10


class GraphBackendError(RuntimeError):
    """The store or server is unreachable, corrupt, or refused a request."""


@dataclass(frozen=True)
class TableChange:
    """Rows of one table an upsert created, updated (same key, new values) or left alone."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class IngestStats:
    """What :meth:`GraphBackend.upsert` did, per table, and how long it took."""

    tables: Mapping[str, TableChange] = field(default_factory=dict)
    seconds: float = 0.0

    def total(self, what: str) -> int:
        """Sum of ``created``, ``updated`` or ``unchanged`` over the tables."""
        if what not in ("created", "updated", "unchanged"):
            raise ValueError(f"what must be created|updated|unchanged; got {what!r}")
        return sum(int(getattr(c, what)) for c in self.tables.values())

    @property
    def edges_written(self) -> int:
        """Shareholding and guarantee rows created or updated."""
        edges = [self.tables.get(t, TableChange()) for t in ("shareholdings", "guarantees")]
        return sum(c.created + c.updated for c in edges)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "seconds": self.seconds,
            "tables": {t: vars(c).copy() for t, c in self.tables.items()},
        }


def check_ego_args(hops: int, kinds: Iterable[str], direction: str = "both") -> tuple[str, ...]:
    """Validate :meth:`GraphBackend.ego_frames` arguments; return ``kinds`` as a sorted tuple."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}; got {direction!r}")
    if isinstance(hops, bool) or not isinstance(hops, int | np.integer) or not (
        0 <= hops <= MAX_HOPS
    ):
        raise ValueError(f"hops must be an integer in [0, {MAX_HOPS}]; got {hops!r}")
    chosen = tuple(sorted(set(kinds)))
    bad = [k for k in chosen if k not in EDGE_KINDS]
    if bad or not chosen:
        raise ValueError(f"kinds must be a non-empty subset of {EDGE_KINDS}; got {kinds!r}")
    return chosen


def plan_table(table: str, incoming: pd.DataFrame,
               existing: pd.DataFrame) -> tuple[pd.DataFrame, TableChange]:
    """Rows of ``incoming`` (canonical, unique keys) that are new or differ from ``existing``.

    >>> old = canonical_table("persons", pd.DataFrame({"person_id": ["P1"], "name": ["A"]}))
    >>> new = canonical_table("persons", pd.DataFrame({"person_id": ["P1", "P2"],
    ...                                                "name": ["A", "B"]}))
    >>> rows, change = plan_table("persons", new, old)
    >>> list(rows["person_id"]), change
    (['P2'], TableChange(created=1, updated=0, unchanged=1))
    """
    if incoming.empty:
        return incoming, TableChange()
    if existing.empty:
        return incoming, TableChange(created=len(incoming))
    key = list(TABLE_KEYS[table])
    old = existing.drop_duplicates(subset=key)
    merged = incoming.merge(old, on=key, how="left", suffixes=("", "__old"), indicator=True)
    new = (merged["_merge"] == "left_only").to_numpy()
    same = np.ones(len(merged), dtype=bool)
    for column in all_columns(table):
        if column in key:
            continue
        a, b = merged[column], merged[f"{column}__old"]
        same &= ((a == b).fillna(False) | (a.isna() & b.isna())).to_numpy(dtype=bool)
    unchanged = ~new & same
    change = TableChange(created=int(new.sum()), updated=int((~new & ~same).sum()),
                         unchanged=int(unchanged.sum()))
    return incoming[~unchanged].reset_index(drop=True), change


class GraphBackend(ABC):
    """A relationship-graph store; use as a context manager or call :meth:`close`."""

    kind: ClassVar[str] = "abstract"

    # ------------------------------------------------------------------ primitives
    @abstractmethod
    def _rows_where(self, table: str, column: str, values: Sequence[str]) -> pd.DataFrame:
        """Canonical rows of ``table`` whose ``column`` is one of ``values``."""

    @abstractmethod
    def _incident_edges(self, ids: Sequence[str], kinds: tuple[str, ...],
                        direction: str) -> list[Edge]:
        """Edges of ``kinds`` into (``"in"``), out of (``"out"``) or at (``"both"``) a node of
        ``ids``; duplicates allowed."""

    @abstractmethod
    def _write(self, changes: GraphFrames) -> None:
        """Create or replace (by key) the rows of ``changes`` (canonical, validated).

        Must check backend limits for every row before writing the first one."""

    @abstractmethod
    def frames(self) -> GraphFrames:
        """The whole graph as canonical tables (sorted by key)."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Rows per table."""

    @abstractmethod
    def clear(self) -> None:
        """Delete every row this backend stores."""

    @abstractmethod
    def close(self) -> None:
        """Release connections and caches; the backend is unusable afterwards."""

    @abstractmethod
    def describe(self) -> str:
        """One line naming the backend and where it stores (never a password)."""

    def _write_lock(self) -> AbstractContextManager[None]:
        """Held around validate + diff + write (the embedded store locks its directory)."""
        return _no_lock()

    # ------------------------------------------------------------------ writes
    def validate(self, frames: GraphFrames,
                 sources: Mapping[str, str] | None = None) -> GraphFrames:
        """Validate a batch against the store (ids it already holds count); return it
        canonical. Raises :class:`~graph_risk.ingest.GraphValidationError`; writes nothing."""
        return validate_frames(frames, sources, _known(self._stored_subset(frames)))

    def upsert(self, frames: GraphFrames,
               sources: Mapping[str, str] | None = None) -> IngestStats:
        """Validate ``frames`` against the store, then write its new and changed rows.

        Idempotent: upserting the same rows again writes nothing. A row replaces the stored
        row with the same key (keys in :mod:`graph_risk.ingest`). On any validation error
        nothing is written.
        """
        start = time.perf_counter()
        with self._write_lock():
            stored = self._stored_subset(frames)
            clean = validate_frames(frames, sources, _known(stored))
            changes: dict[str, pd.DataFrame] = {}
            stats: dict[str, TableChange] = {}
            for table in TABLE_COLUMNS:
                changes[table], stats[table] = plan_table(
                    table, clean.table(table), stored.table(table))
            if any(not c.empty for c in changes.values()):
                self._write(GraphFrames(**changes))
        return IngestStats(tables=stats, seconds=time.perf_counter() - start)

    def _stored_subset(self, frames: GraphFrames) -> GraphFrames:
        """Stored rows a batch can touch: nodes it names, holdings of the companies it holds
        shares in, guarantees of its guarantors, defaults of its defaulted companies."""
        ids = sorted(referenced_ids(frames))
        lookups = {
            "companies": ("company_id", ids),
            "persons": ("person_id", ids),
            "shareholdings": ("company_id", _column_ids(frames.shareholdings, "company_id")),
            "guarantees": ("guarantor_id", _column_ids(frames.guarantees, "guarantor_id")),
            "defaults": ("company_id", _column_ids(frames.defaults, "company_id")),
        }
        return GraphFrames(**{t: self._rows_where(t, c, v) for t, (c, v) in lookups.items()})

    # ------------------------------------------------------------------ reads
    def company(self, company_id: str) -> dict[str, Any] | None:
        """The company's row (``companies`` columns plus ``default_date``), or ``None``."""
        rows = self._rows_where("companies", "company_id", [company_id])
        if rows.empty:
            return None
        out: dict[str, Any] = {str(k): _plain(v) for k, v in rows.iloc[0].items()}
        default = self._rows_where("defaults", "company_id", [company_id])
        out["default_date"] = None if default.empty else str(default["default_date"].iloc[0])
        return out

    def ego_frames(self, company_id: str, hops: int = 1, kinds: Iterable[str] = EDGE_KINDS,
                   direction: str = "both") -> GraphFrames:
        """The ``hops``-hop neighbourhood of a company as tables.

        Nodes are those within ``hops`` steps of the company over edges of ``kinds``, followed
        against their direction (``"in"``: holders and guarantors, upstream), along it
        (``"out"``) or either way (``"both"``); tables hold those nodes' rows and every edge
        of ``kinds`` between two of them -- the induced subgraph, like
        ``networkx.ego_graph(g, c, hops, undirected=True)`` for ``"both"``. Raises
        ``KeyError`` for an unknown company.

        Examples: ``ego_frames(c, 6, ("shareholding",), "in")`` holds every ownership chain
        of up to 6 links into ``c`` (enough for its ultimate controller);
        ``ego_frames(c, 3, ("guarantee",))`` holds every guarantee circle of length <= 6
        through ``c`` and its 3-hop chain exposure.

        Complexity: ``hops + 1`` incident-edge look-ups (the last one finds the edges between
        nodes of the outer shell); O(edges touching the neighbourhood).
        """
        chosen = check_ego_args(hops, kinds, direction)
        seen = {company_id}
        frontier = [company_id]
        edges: set[Edge] = set()
        for _ in range(hops):
            found = self._incident_edges(frontier, chosen, direction)
            edges.update(found)
            reached = {e[1] for e in found} | {e[2] for e in found}
            frontier = sorted(reached - seen)
            seen |= reached
            if not frontier:
                break
        if frontier and hops > 0:
            # every edge between two reached nodes is an edge (in ``direction``) of one of
            # them; those of the outer shell are the only ones not fetched yet
            edges.update(self._incident_edges(frontier, chosen, direction))
        inside = [e for e in edges if e[1] in seen and e[2] in seen]
        companies = self._rows_where("companies", "company_id", sorted(seen))
        if company_id not in set(companies["company_id"]):
            raise KeyError(f"unknown company {company_id!r}")
        persons = self._rows_where("persons", "person_id", sorted(seen - set(
            companies["company_id"])))
        person_ids = set(persons["person_id"])
        holds = [e for e in inside if e[0] == "shareholding"]
        lends = [e for e in inside if e[0] == "guarantee"]
        shareholdings = canonical_table("shareholdings", pd.DataFrame({
            "holder_id": [e[1] for e in holds],
            "holder_type": ["person" if e[1] in person_ids else "company" for e in holds],
            "company_id": [e[2] for e in holds],
            "share": [e[3] for e in holds],
        }))
        guarantees = canonical_table("guarantees", pd.DataFrame({
            "guarantor_id": [e[1] for e in lends], "borrower_id": [e[2] for e in lends],
            "amount": [e[4] for e in lends], "start_date": [e[5] for e in lends],
            "end_date": [e[6] for e in lends],
        }))
        defaults = self._rows_where("defaults", "company_id", list(companies["company_id"]))
        return GraphFrames(companies=companies, persons=persons, shareholdings=shareholdings,
                           guarantees=guarantees, defaults=defaults)

    # ------------------------------------------------------------------ context manager
    def __enter__(self) -> GraphBackend:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _column_ids(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        return []
    return sorted({str(v) for v in frame[column].dropna() if str(v) != ""})


def _known(stored: GraphFrames) -> KnownGraph:
    kinds = {str(i): "person" for i in stored.persons["person_id"]}
    kinds.update({str(i): "company" for i in stored.companies["company_id"]})
    return KnownGraph(kinds=kinds, holdings=stored.shareholdings)


@contextmanager
def _no_lock() -> Iterator[None]:
    yield


def _plain(value: object) -> object:
    """numpy scalars and NaN as plain Python values (for JSON-ready dicts)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        item = value.item()
        return None if isinstance(item, float) and np.isnan(item) else item
    return value
