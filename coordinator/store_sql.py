"""SQL connections for the run store: SQLite (default, one file, WAL) or PostgreSQL.

The run store's SQL is written once, with ``?`` placeholders and portable types; this module
opens the right connection for a *target* and adapts the few dialect differences (placeholder
style, ``BLOB``/``BYTEA``, ``REAL``/``DOUBLE PRECISION``, how a write transaction starts).

Targets: a file path (SQLite) or a URL ``postgresql://USER[:PASSWORD]@HOST:PORT/DB`` (psycopg 3;
prefer ``PGPASSWORD`` or ``~/.pgpass`` to a password in the URL). A password is never part of
``describe()``, which is what logs and error messages show.

Example
-------
>>> redact("postgresql://assoc:s3cret@db:5432/runs")
'postgresql://assoc:***@db:5432/runs'
>>> redact("/var/lib/fedcredit/runstore.sqlite")
'/var/lib/fedcredit/runstore.sqlite'
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class StoreConnectionError(RuntimeError):
    """The run store's database cannot be opened."""


def is_postgres(target: str | Path) -> bool:
    """Whether ``target`` names a PostgreSQL database (a URL) rather than a SQLite file."""
    return str(target).startswith(POSTGRES_SCHEMES)


def redact(target: str | Path) -> str:
    """``target`` with any password replaced by ``***`` (safe to log)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", str(target))


class SqlConnection:
    """One open connection with a portable ``execute``/``query``/``transaction`` surface.

    Parameters
    ----------
    target
        SQLite file path (created with its folders) or a PostgreSQL URL.
    """

    def __init__(self, target: str | Path) -> None:
        self.postgres = is_postgres(target)
        self.where = redact(target)
        self._conn: Any
        if self.postgres:
            try:
                import psycopg
            except ImportError as exc:  # pragma: no cover - psycopg is a pinned dependency
                raise StoreConnectionError("PostgreSQL run store needs psycopg 3") from exc
            try:
                self._conn = psycopg.connect(str(target), autocommit=True)
            except psycopg.Error as exc:
                raise StoreConnectionError(
                    f"{self.where}: cannot connect to the PostgreSQL run store ({redact(str(exc))})"
                ) from None
        else:
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as exc:
                raise StoreConnectionError(
                    f"{self.where}: not a readable run store ({exc})"
                ) from exc

    # ------------------------------------------------------------- dialect
    def sql(self, statement: str) -> str:
        """Adapt a portable statement to this connection's dialect."""
        if not self.postgres:
            return statement
        out = statement.replace("?", "%s").replace(" BLOB", " BYTEA")
        return out.replace(" REAL", " DOUBLE PRECISION")

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        """Exception types meaning "the database is unreadable or inconsistent"."""
        if self.postgres:
            import psycopg

            return (psycopg.Error,)
        return (sqlite3.DatabaseError,)

    # ------------------------------------------------------------ statements
    def script(self, statements: str) -> None:
        """Run several ``;``-separated DDL statements."""
        for stmt in (s.strip() for s in statements.split(";")):
            if stmt:
                self._conn.execute(self.sql(stmt))

    def execute(self, statement: str, params: Sequence[object] = ()) -> None:
        """Run one statement."""
        self._conn.execute(self.sql(statement), tuple(params))

    def query(self, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one query; all rows (``bytes`` for blobs on both backends)."""
        rows = self._conn.execute(self.sql(statement), tuple(params)).fetchall()
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]

    @contextmanager
    def transaction(self) -> Iterator[SqlConnection]:
        """A write transaction: everything inside commits together or not at all."""
        if self.postgres:
            with self._conn.transaction():
                yield self
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
