"""Graph store on a Bolt server (Neo4j 5, FalkorDB) through the official ``neo4j`` driver.

Writes are batched ``UNWIND $rows AS r MERGE ...`` statements (see :mod:`.cypher` for the
graph model and every statement); reads pull tables with portable queries and the heavy
algorithms run in Python on them -- a database's own cycle or path counts are never trusted.
Server differences are handled by :mod:`.bolt_dialect` (detected on connect) and here:

* schema: Neo4j gets a uniqueness constraint on ``:Entity(id)`` and indexes on
  ``:Company(id)``/``:Person(id)``; FalkorDB creates constraints only through its own Redis
  command, so it gets the three indexes and uniqueness rests on ``MERGE`` plus validation;
* closing: FalkorDB's Bolt endpoint frees a client on ``GOODBYE`` without removing its socket
  from the event loop, so the next connection that reuses the file descriptor hangs in the
  handshake. For that dialect connections are closed without ``GOODBYE`` (the socket is shut,
  which the server handles cleanly) -- see :func:`_close_without_goodbye`;
* databases: ``database`` is passed to every session. FalkorDB 4.16 ignores its value: with
  no database the graph is ``falkordb``, with any name it is ``db``.
* transactions: FalkorDB acknowledges BEGIN/COMMIT but does not make them atomic, so an
  upsert is a sequence of auto-commit batches on both servers; validation runs first and
  re-running an interrupted upsert completes it (writes are idempotent ``MERGE``s);
* concurrency: with four concurrent write sessions FalkorDB 4.16.3 crashed or stopped
  answering (all sockets idle, no reply) in our stress runs, so for that dialect a backend
  sends one statement at a time (a lock around every statement; ``workers`` is ignored).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import neo4j
import pandas as pd
from neo4j.exceptions import (
    AuthError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    TransientError,
)

from graph_risk.backends import cypher
from graph_risk.backends.base import Edge, GraphBackend, GraphBackendError
from graph_risk.backends.bolt_dialect import PROBE, PROBE_QUERY, Dialect, StatementTooLarge
from graph_risk.frames import TABLE_COLUMNS, GraphFrames
from graph_risk.ingest import canonical_table, member

URI_SCHEMES: tuple[str, ...] = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
FULL_READ_ABOVE = 20_000  # look-ups of more keys read the whole table instead
LOOKUP_ALWAYS_BELOW = 500  # ... and so do look-ups of over 10 % of a table's rows
DIALECTS: tuple[str, ...] = ("auto", "neo4j", "falkordb")


def _close_without_goodbye(driver: neo4j.Driver) -> None:
    """Close ``driver`` after shutting its pooled sockets without a Bolt ``GOODBYE``.

    Uses the driver's pool internals (``_pool.connections``, ``Bolt.kill``) defensively:
    when they are absent (another driver version) this is a plain ``driver.close()``.
    """
    connections = getattr(getattr(driver, "_pool", None), "connections", None)
    if isinstance(connections, dict):
        for pooled in list(connections.values()):
            for connection in list(pooled):
                kill = getattr(connection, "kill", None)
                if callable(kill):
                    kill()
    driver.close()


class Neo4jBackend(GraphBackend):
    """The Bolt backend.

    Parameters
    ----------
    uri : str
        ``bolt://host:port`` (or another scheme of :data:`URI_SCHEMES`).
    user, password : str, optional
        Basic auth; no ``user`` means no auth (FalkorDB without ``requirepass``).
    database : str, optional
        Database (Neo4j) passed to every session; ``None`` is the server default.
    dialect : {"auto", "neo4j", "falkordb"}
        Parameter handling; ``auto`` probes the server (see :mod:`.bolt_dialect`).
    rows_per_batch : int
        Rows per write statement where the server binds parameters.
    workers : int
        Concurrent write statements (each on its own session) within a phase; nodes are
        always written before the relationships that need them. Ignored (1) for FalkorDB.
    connection_timeout : float
        Seconds to wait for a connection.
    """

    kind = "neo4j"

    def __init__(self, uri: str, *, user: str | None = None, password: str | None = None,
                 database: str | None = None, dialect: str = "auto",
                 rows_per_batch: int = 5000, workers: int = 1,
                 connection_timeout: float = 10.0) -> None:
        scheme = uri.split("://", 1)[0] if "://" in uri else ""
        if scheme not in URI_SCHEMES:
            raise ValueError(f"Bolt uri must start with one of {[s + '://' for s in URI_SCHEMES]}"
                             f"; got {uri!r}")
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {DIALECTS}; got {dialect!r}")
        if not 1 <= workers <= 32:
            raise ValueError(f"workers must be in [1, 32]; got {workers}")
        self.workers = workers
        self.uri = uri
        self.user = user
        self.database = database
        auth = neo4j.basic_auth(user, password or "") if user else None
        self._driver = neo4j.GraphDatabase.driver(
            uri, auth=auth, connection_timeout=connection_timeout,
            connection_acquisition_timeout=connection_timeout)
        self._dialect = Dialect("neo4j", rows_per_batch)
        self._serial: AbstractContextManager[Any] = nullcontext()
        self._schema_ready = False
        try:
            probe = self._run(PROBE_QUERY, probe=PROBE)[0][0]
        except BaseException:
            _close_without_goodbye(self._driver)
            raise
        detected = "neo4j" if probe == PROBE else "falkordb"
        self._dialect = Dialect(detected if dialect == "auto" else dialect, rows_per_batch)
        # concurrent Bolt sessions crashed or hung FalkorDB 4.16.3 under load: one statement
        # at a time per backend there (module docstring)
        if self._dialect.pastes_parameters:
            self._serial = threading.Lock()

    @property
    def dialect(self) -> str:
        """``"neo4j"`` or ``"falkordb"`` (see :mod:`.bolt_dialect`)."""
        return self._dialect.name

    # ------------------------------------------------------------------ plumbing
    def _run(self, query: str, **params: Any) -> list[list[Any]]:
        """Run one statement with raw ``params``; return its records as value lists."""
        return self._send(query, {k: self._dialect.encode(v) for k, v in params.items()})

    def _send(self, query: str, encoded: dict[str, Any], retries: int = 0,
              sized: bool = False) -> list[list[Any]]:
        """Run one statement with already encoded parameters (``sized``: already cut to fit
        by :meth:`Dialect.batches`); retry a transient failure (e.g. a Neo4j deadlock
        between concurrent writers) ``retries`` times."""
        if not sized:
            self._dialect.check_statement(query, encoded)
        try:
            with self._serial, self._driver.session(database=self.database) as session:
                return [record.values() for record in session.run(query, encoded)]
        except TransientError as exc:
            if retries > 0:
                time.sleep(0.05 * (4 - min(retries, 3)))
                return self._send(query, encoded, retries - 1, sized)
            raise GraphBackendError(
                f"Bolt server at {self.uri} kept failing a statement ({exc.code}): "
                f"{exc.message}") from exc
        except AuthError as exc:
            raise GraphBackendError(
                f"Bolt server at {self.uri} refused the credentials of user "
                f"{self.user!r}") from exc
        except ServiceUnavailable as exc:
            raise GraphBackendError(f"cannot reach Bolt server at {self.uri}: {exc}") from exc
        except Neo4jError as exc:
            raise GraphBackendError(
                f"Bolt server at {self.uri} rejected a statement ({exc.code}): "
                f"{exc.message}") from exc
        except DriverError as exc:
            raise GraphBackendError(f"Bolt driver error talking to {self.uri}: {exc}") from exc

    def _send_batched(self, query: str, key: str, values: Sequence[Any],
                      **params: Any) -> list[list[Any]]:
        """Run ``query`` once per statement-sized batch of ``values`` (raw) bound to ``key``;
        ``params`` are bound unchanged in every statement."""
        encoded = [self._dialect.encode(v) for v in values]
        fixed = {k: self._dialect.encode(v) for k, v in params.items()}
        records: list[list[Any]] = []
        for batch in self._dialect.batches(query, encoded, key=key, other=fixed):
            records.extend(self._send(query, {key: batch, **fixed}, sized=True))
        return records

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        if self.dialect == "neo4j":
            for statement in cypher.NEO4J_SCHEMA:
                self._run(statement)
        else:
            have = {str(label) for label, props in self._run(cypher.FALKORDB_LIST_INDEXES)
                    if "id" in (props or [])}
            for label in cypher.INDEXED_LABELS:
                if label not in have:
                    self._run(cypher.FALKORDB_CREATE_INDEX[label])
        self._schema_ready = True

    # ------------------------------------------------------------------ reads
    def _read_all(self, table: str) -> pd.DataFrame:
        budget = self._dialect.record_budget
        rows = [row for spec in cypher.READS[table]
                for record in self._run(spec.read_all(), budget=budget) for row in record[0]]
        return canonical_table(table, cypher.decode_rows(table, rows))

    def _rows_where(self, table: str, column: str, values: Sequence[str]) -> pd.DataFrame:
        if not len(values):
            return canonical_table(table, None)
        if len(values) > FULL_READ_ABOVE or (
                len(values) > LOOKUP_ALWAYS_BELOW
                and len(values) * 10 > int(self._run(cypher.COUNTS[table])[0][0])):
            frame = self._read_all(table)
            return frame[member(frame[column], set(values))].reset_index(drop=True)
        unique = list(dict.fromkeys(values))
        budget = self._dialect.record_budget
        rows = [row for spec in cypher.READS[table]
                for record in self._send_batched(spec.lookup(column), "ids", unique,
                                                 budget=budget)
                for row in record[0]]
        return canonical_table(table, cypher.decode_rows(table, rows))

    def _incident_edges(self, ids: Sequence[str], kinds: tuple[str, ...],
                        direction: str) -> list[Edge]:
        query = cypher.incident_edges_query(kinds, direction)
        rows = self._send_batched(query, "ids", list(ids))
        return [(cypher.REL_TYPES[r[0]], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    def frames(self) -> GraphFrames:
        return GraphFrames(**{t: self._read_all(t) for t in TABLE_COLUMNS})

    def counts(self) -> dict[str, int]:
        return {t: int(self._run(q)[0][0]) for t, q in cypher.COUNTS.items()}

    # ------------------------------------------------------------------ writes
    def _statements(self, changes: GraphFrames) -> list[list[tuple[str, list[Any]]]]:
        """Every write statement for ``changes``, batched and encoded, in two groups (nodes,
        then relationships and defaults); raises before anything is sent when a row cannot
        fit one statement."""
        held = changes.shareholdings
        plan: list[tuple[int, str, str, pd.DataFrame]] = [
            (0, "persons", cypher.UPSERT_PERSONS, changes.persons),
            (0, "companies", cypher.UPSERT_COMPANIES, changes.companies),
            *((1, "shareholdings", query, held[(held["holder_type"] == holder).to_numpy()])
              for holder, query in cypher.UPSERT_HOLDINGS.items()),
            (1, "guarantees", cypher.UPSERT_GUARANTEES, changes.guarantees),
            (1, "defaults", cypher.UPSERT_DEFAULTS, changes.defaults),
        ]
        groups: list[list[tuple[str, list[Any]]]] = [[], []]
        for group, table, query, frame in plan:
            rows = [self._dialect.encode_row(r) for r in cypher.encode_rows(table, frame)]
            try:
                groups[group].extend((query, b) for b in self._dialect.batches(query, rows))
            except StatementTooLarge as exc:
                key = frame.iloc[exc.row or 0, 0]
                raise StatementTooLarge(f"{table} row with key {key!r}: {exc}", exc.row) from exc
        return groups

    def _write(self, changes: GraphFrames) -> None:
        groups = self._statements(changes)
        self._ensure_schema()
        workers = 1 if self._dialect.pastes_parameters else self.workers
        for group in groups:
            if workers == 1 or len(group) < 2:
                for query, batch in group:
                    self._write_batch(query, batch)
                continue
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for future in [pool.submit(self._write_batch, q, b) for q, b in group]:
                    future.result()

    def _write_batch(self, query: str, batch: list[Any]) -> None:
        written = self._send(query, {"rows": batch}, retries=3, sized=True)
        count = int(written[0][0]) if written else 0
        if count != len(batch):
            raise GraphBackendError(
                f"Bolt write matched {count} of {len(batch)} rows (a node it refers to is "
                "missing; was the graph changed during the upsert?)")

    def clear(self) -> None:
        while self._run(cypher.DELETE_SOME)[0][0]:
            pass

    def close(self) -> None:
        if self.dialect == "falkordb":
            _close_without_goodbye(self._driver)
        else:
            self._driver.close()

    def describe(self) -> str:
        db = f", database {self.database}" if self.database else ""
        return f"neo4j {self.uri} ({self.dialect} dialect{db})"

