"""Streaming access to a member's data file: CSV or Parquet, chunk by chunk, with exact row
numbers.

CSV is parsed by Arrow's streaming reader in blocks (``block_size`` bytes of text at a time,
every cell kept as text), so memory is bounded by a few blocks whatever the file size. Rows with
the wrong number of fields are reported and skipped without losing the numbering: every
physical line after the header is either a data row or a reported malformed row, so the data row
of a cell is always ``line - 1``. Quoted values may not contain line breaks.

Text encodings: UTF-8 by default (a UTF-8 byte-order mark is skipped); any ASCII-compatible
codec Python knows (``gbk``, ``gb18030``, ``cp1252``, ...) with ``encoding=``. Bytes that do not
decode stop the read with an ``encoding`` issue naming the line and the probable fix.

Parquet is read one row group batch at a time (typed columns; row = 1-based position).
"""

from __future__ import annotations

import codecs
import csv
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from participant_node.data.columns import series_to_arrow
from participant_node.data.report import Issue, shorten

DEFAULT_BLOCK_BYTES = 4 << 20
PARQUET_BATCH_ROWS = 65_536
_UTF8_NAMES = {"utf-8", "utf8", "utf_8", "utf-8-sig", "utf_8_sig", "u8"}
_SUGGEST = ("utf-8", "gbk", "gb18030", "cp1252")
_PACKED = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip (e.g. Excel .xlsx)", b"\xd0\xcf": "Excel .xls"}


class ReadFailure(Exception):
    """Reading cannot go on; ``issue`` says where and why."""

    def __init__(self, issue: Issue) -> None:
        self.issue = issue
        super().__init__(str(issue))


@dataclass(frozen=True)
class Chunk:
    """Some consecutive rows: ``columns`` maps name -> Arrow array, ``rows`` the 1-based data
    row of each entry (int64)."""

    columns: dict[str, pa.Array]
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


def normalise_encoding(encoding: str | None) -> str:
    """Python codec name for ``encoding`` (``None`` -> ``utf-8``); ValueError if unknown."""
    if encoding is None:
        return "utf-8"
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(
            f"unknown text encoding {encoding!r}; use a Python codec name such as "
            "'utf-8', 'gbk', 'gb18030' or 'cp1252'"
        ) from None
    return "utf-8" if name.replace("_", "-") in _UTF8_NAMES else name


class Source:
    """An opened data file (or DataFrame) with its header; iterate with :meth:`chunks`.

    Raises :class:`ReadFailure` for a missing, unreadable or empty file, an undecodable header,
    or an unknown encoding.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | pd.DataFrame,
        encoding: str | None = None,
        *,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
    ) -> None:
        self.block_bytes = block_bytes
        self.frame: pd.DataFrame | None = None
        if isinstance(path, pd.DataFrame):
            self.frame = path
            self.name = "<frame>"
            self.format = "frame"
            self.encoding: str | None = None
            self._labels = {str(c): c for c in path.columns}
            self.header = list(self._labels)
            return
        self.path = Path(path)
        self.name = str(self.path)
        if not self.path.is_file():
            raise ReadFailure(self._issue("file-not-found", None, "no such file"))
        with self.path.open("rb") as fh:
            magic = fh.read(4)
        if magic == b"PAR1":
            self.format = "parquet"
            self.encoding = None
            try:
                self._pq = pq.ParquetFile(self.path)
            except (pa.ArrowException, OSError) as e:
                raise ReadFailure(
                    self._issue("file-unreadable", None, f"not a valid Parquet file: {e}")
                ) from None
            self.header = list(self._pq.schema_arrow.names)
            return
        packed = _PACKED.get(magic[:2]) or _PACKED.get(magic)
        if packed is not None:
            raise ReadFailure(
                self._issue(
                    "file-unreadable",
                    None,
                    f"this is a {packed} file, not CSV or Parquet; export the data as CSV "
                    "(UTF-8) or Parquet",
                )
            )
        self.format = "csv"
        try:
            self.encoding = normalise_encoding(encoding)
        except ValueError as e:
            raise ReadFailure(self._issue("encoding", None, str(e))) from None
        self.header = self._read_header()

    # ------------------------------------------------------------------ helpers
    def _issue(
        self,
        rule: str,
        line: int | None,
        message: str,
        value: str | None = None,
        column: str | None = None,
    ) -> Issue:
        row = None if line is None or line < 2 else line - 1
        return Issue(self.name, row, line, column, rule, value, message)

    def _read_header(self) -> list[str]:
        raw = b""
        with self.path.open("rb") as fh:
            while b"\n" not in raw:
                block = fh.read(1 << 16)
                if not block:
                    break
                raw += block
        first = raw.split(b"\n", 1)[0]
        self._data_offset = len(first) + 1
        assert self.encoding is not None
        codec = "utf-8-sig" if self.encoding == "utf-8" else self.encoding
        if not raw.strip(b" \t\r\n\xef\xbb\xbf"):
            raise ReadFailure(
                self._issue("empty-file", None, "the file is empty: no header and no rows")
            )
        try:
            text = first.decode(codec).rstrip("\r")
        except UnicodeDecodeError as e:
            raise ReadFailure(self._encoding_issue(1, first, e)) from None
        if not text.strip():
            raise ReadFailure(
                self._issue(
                    "header",
                    1,
                    "line 1 is blank; the first line must be the comma-separated header",
                )
            )
        return next(csv.reader([text]))

    def _encoding_issue(self, line: int, raw_line: bytes, err: UnicodeDecodeError) -> Issue:
        bad = raw_line[err.start : max(err.end, err.start + 2)]
        fix = next((c for c in _SUGGEST if c != self.encoding and _decodes(raw_line, c)), None)
        if fix == "utf-8":
            hint = "the line is valid UTF-8: drop --encoding (or pass --encoding utf-8)"
        elif fix is not None:
            hint = f"it decodes as {fix}: re-run with --encoding {fix}"
        else:
            hint = "pass the file's encoding with --encoding (e.g. gbk, cp1252)"
        return self._issue(
            "encoding",
            line,
            f"line {line} is not valid {self.encoding} (byte {err.start + 1} of the line); {hint}",
            value=" ".join(f"0x{b:02X}" for b in bad),
        )

    # ------------------------------------------------------------------ streaming
    def chunks(
        self,
        columns: Sequence[str],
        on_malformed: Callable[[Issue], None],
        missing_tokens: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        """Yield chunks holding ``columns`` (all present in the header, no duplicates).

        With no columns, chunks carry the first header column only (rows still counted).
        Malformed CSV rows go to ``on_malformed`` and are skipped. CSV cells exactly equal to
        one of ``missing_tokens`` (or empty) come out as nulls. Raises :class:`ReadFailure`
        when the rest of the file cannot be read.
        """
        wanted = list(columns) or self.header[:1]
        if self.format == "frame":
            assert self.frame is not None
            cols = {c: series_to_arrow(self.frame[self._labels[c]]) for c in wanted}
            yield Chunk(cols, np.arange(1, len(self.frame) + 1, dtype=np.int64))
        elif self.format == "parquet":
            yield from self._parquet_chunks(wanted)
        else:
            yield from self._csv_chunks(wanted, on_malformed, missing_tokens)

    def _parquet_chunks(self, wanted: list[str]) -> Iterator[Chunk]:
        start = 1
        try:
            for batch in self._pq.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=wanted):
                n = batch.num_rows
                cols = {c: batch.column(c) for c in wanted}
                yield Chunk(cols, np.arange(start, start + n, dtype=np.int64))
                start += n
        except (pa.ArrowException, OSError) as e:
            raise ReadFailure(
                self._issue(
                    "file-unreadable", None, f"Parquet read failed after row {start - 1}: {e}"
                )
            ) from None

    def _csv_chunks(
        self,
        wanted: list[str],
        on_malformed: Callable[[Issue], None],
        missing_tokens: Sequence[str],
    ) -> Iterator[Chunk]:
        convert = pcsv.ConvertOptions(
            column_types={c: pa.string() for c in wanted},
            include_columns=wanted,
            strings_can_be_null=True,
            null_values=[*missing_tokens, ""],
        )
        first_line = 2  # physical line number of the current piece's first line
        for piece in self._pieces():
            data = self._to_utf8(piece, first_line)
            table, bad = self._parse(data, convert, piece, first_line, threads=True)
            if bad:  # re-parse single-threaded: Arrow gives line numbers only then
                table, bad = self._parse(data, convert, piece, first_line, threads=False)
            for number, expected, actual, text in bad:
                hint = " (a comma inside a value must be quoted)" if actual > expected else ""
                on_malformed(
                    self._issue(
                        "malformed-row",
                        first_line + number - 1,
                        f"expected {expected} fields, found {actual}{hint}",
                        value=shorten(text),
                    )
                )
            n = table.num_rows
            k = np.arange(n, dtype=np.int64)
            if bad:
                skipped = np.sort(np.array([b[0] for b in bad], dtype=np.int64))
                good_before = skipped - np.arange(len(skipped)) - 1
                local = k + 1 + np.searchsorted(good_before, k, side="right")
            else:
                local = k + 1
            if n:
                cols = {c: table.column(c).combine_chunks() for c in wanted}
                yield Chunk(cols, first_line + local - 2)
            first_line += piece.count(b"\n") + (0 if piece.endswith(b"\n") else 1)

    def _pieces(self) -> Iterator[bytes]:
        """The data part of the file in pieces of about ``block_bytes`` that end at a newline."""
        carry = b""
        with self.path.open("rb") as fh:
            fh.seek(self._data_offset)
            while True:
                block = fh.read(self.block_bytes)
                if not block:
                    if carry:
                        yield carry
                    return
                data = carry + block
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    carry = data
                    continue
                yield data[:cut]
                carry = data[cut:]

    def _to_utf8(self, piece: bytes, first_line: int) -> bytes:
        if self.encoding == "utf-8":
            return piece
        assert self.encoding is not None
        try:
            return piece.decode(self.encoding).encode("utf-8")
        except UnicodeDecodeError as e:
            raise ReadFailure(self._locate(piece, first_line, e)) from None

    def _locate(self, piece: bytes, first_line: int, err: UnicodeDecodeError) -> Issue:
        start = piece.rfind(b"\n", 0, err.start) + 1
        end = piece.find(b"\n", err.start)
        raw_line = piece[start : end if end >= 0 else len(piece)]
        local = UnicodeDecodeError(
            err.encoding, raw_line, err.start - start, err.end - start, err.reason
        )
        return self._encoding_issue(
            first_line + piece.count(b"\n", 0, err.start), raw_line.rstrip(b"\r"), local
        )

    def _parse(
        self,
        data: bytes,
        convert: pcsv.ConvertOptions,
        piece: bytes,
        first_line: int,
        *,
        threads: bool,
    ) -> tuple[pa.Table, list[tuple[int, int, int, str]]]:
        bad: list[tuple[int, int, int, str]] = []

        def handler(row: pcsv.InvalidRow) -> str:
            number = -1 if row.number is None else int(row.number)
            bad.append((number, int(row.expected_columns), int(row.actual_columns), row.text))
            return "skip"

        read = pcsv.ReadOptions(
            column_names=self.header,
            use_threads=threads,
            block_size=(1 << 20) if threads else len(data) + 1,
        )
        parse = pcsv.ParseOptions(
            invalid_row_handler=handler, ignore_empty_lines=False, newlines_in_values=False
        )
        try:
            table = pcsv.read_csv(
                pa.BufferReader(data),
                read_options=read,
                parse_options=parse,
                convert_options=convert,
            )
        except pa.ArrowInvalid as e:
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError as ue:
                raise ReadFailure(self._locate(piece, first_line, ue)) from None
            last = first_line + piece.count(b"\n")
            raise ReadFailure(
                self._issue(
                    "file-unreadable", None, f"CSV parse failed in lines {first_line}-{last}: {e}"
                )
            ) from None
        return table, bad


def _decodes(raw: bytes, codec: str) -> bool:
    try:
        raw.decode(codec)
    except UnicodeDecodeError:
        return False
    return True
