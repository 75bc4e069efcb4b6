"""Validate a member's file against the contract in one streaming pass; optionally keep the
typed columns (:func:`read_table`).

Every rule of :data:`~participant_node.data.report.RULES` is checked chunk by chunk with
vectorised masks, so the cost is O(rows x features) and memory is O(chunk) plus 8 bytes per
distinct id for duplicate-id detection (:class:`~participant_node.data.ids.IdTracker`). Errors
are collected,
not raised one by one: the report counts all of them and keeps ``max_errors`` examples. Nothing
is written anywhere.

Rows whose every contract column is empty (blank lines, ``,,,,`` lines) are skipped and counted
as ``blank_rows``.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa

from participant_node.data.columns import category_codes, labels_of, parse_numeric, to_text
from participant_node.data.contract import Contract
from participant_node.data.feature import FeatureSpec
from participant_node.data.ids import IdTracker
from participant_node.data.reader import DEFAULT_BLOCK_BYTES, Chunk, ReadFailure, Source
from participant_node.data.report import (
    DataValidationError,
    Issue,
    IssueCollector,
    ValidationReport,
)
from participant_node.data.table import FrameBuilder

PathOrFrame = str | os.PathLike[str] | pd.DataFrame


def validate_file(
    path: PathOrFrame,
    contract: Contract,
    encoding: str | None = None,
    max_errors: int = 100,
    *,
    require_label: bool = True,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> ValidationReport:
    """Check a CSV/Parquet file (or a DataFrame) against ``contract``; never raises for bad data.

    Parameters
    ----------
    path
        CSV or Parquet file (detected by content), or a DataFrame.
    encoding
        Text encoding of a CSV file; default UTF-8 (with or without BOM).
    max_errors
        Examples kept in the report (all errors are counted).
    require_label
        False for files to be scored (the label column may then be absent).

    Examples
    --------
    >>> report = validate_file("members/m01.csv", contract)   # doctest: +SKIP
    >>> report.ok, report.rows, report.positives                # doctest: +SKIP
    """
    return _Scan(contract, max_errors, require_label, collect=False).run(
        path, encoding, block_bytes
    )[0]


def validate_frame(
    df: pd.DataFrame, contract: Contract, max_errors: int = 100, *, require_label: bool = True
) -> ValidationReport:
    """:func:`validate_file` for an in-memory frame (rows numbered 1..n by position)."""
    return validate_file(df, contract, max_errors=max_errors, require_label=require_label)


def read_table(
    path: PathOrFrame,
    contract: Contract,
    encoding: str | None = None,
    *,
    require_label: bool = True,
    max_errors: int = 100,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> pd.DataFrame:
    """Validate and load a file into a typed DataFrame; :class:`DataValidationError` on errors.

    Columns, in order: the id column (string), the features (numeric as float64 with NaN for
    missing; categorical as ``pd.Categorical`` over the contract's categories) and the label
    (``pd.Categorical`` over ``[negative, positive]``), each only when present.
    """
    report, frame = _Scan(contract, max_errors, require_label, collect=True).run(
        path, encoding, block_bytes
    )
    if not report.ok or frame is None:
        raise DataValidationError(report)
    return frame


class _Scan:
    """One validation pass; holds the running counts between chunks."""

    def __init__(
        self, contract: Contract, max_errors: int, require_label: bool, collect: bool
    ) -> None:
        if max_errors < 1:
            raise ValueError(f"max_errors must be >= 1; got {max_errors}")
        self.contract = contract
        self.max_errors = max_errors
        self.require_label = require_label
        self.collect = collect
        self.ids = IdTracker()
        self.table: FrameBuilder | None = None
        self.rows = 0
        self.blank = 0
        self.positives = 0
        self.negatives = 0
        self.missing: dict[str, int] = {}

    # ------------------------------------------------------------------ driver
    def run(
        self, path: PathOrFrame, encoding: str | None, block_bytes: int
    ) -> tuple[ValidationReport, pd.DataFrame | None]:
        c = self.contract
        name = "<frame>" if isinstance(path, pd.DataFrame) else str(path)
        report = ValidationReport(name, "?", encoding, c.fingerprint(), max_errors=self.max_errors)
        try:
            src = Source(path, encoding, block_bytes=block_bytes)
        except ReadFailure as failure:
            report.issues = [failure.issue]
            report.error_count = 1
            report.counts = {failure.issue.rule: 1}
            report.complete = False
            return report, None
        report.format, report.encoding = src.format, src.encoding
        self.out = IssueCollector(src.name, self.max_errors, csv_lines=src.format == "csv")
        present = self._check_header(src)
        wanted = [col for col in c.required_columns if col in present]
        report.ignored_columns = tuple(h for h in src.header if h not in c.required_columns)
        if self.collect:
            self.table = FrameBuilder(c, wanted)
        try:
            for chunk in src.chunks(wanted, self.out.add, c.missing_tokens):
                self._check_chunk(chunk, present)
        except ReadFailure as failure:
            self.out.add(failure.issue)
            report.complete = False
        if report.complete:
            self._check_totals(src, present)
        report.rows, report.blank_rows = self.rows, self.blank
        report.positives, report.negatives = self.positives, self.negatives
        report.missing = {col: self.missing.get(col, 0) for col in wanted}
        report.issues = self.out.select()
        report.error_count, report.counts = self.out.total, dict(self.out.counts)
        frame = self.table.build() if self.table is not None and report.ok else None
        return report, frame

    def _check_header(self, src: Source) -> set[str]:
        c = self.contract
        required = list(c.required_columns)
        if not self.require_label:
            required.remove(c.label)
        header = src.header
        counts = pd.Series(header, dtype=object).value_counts().to_dict() if header else {}
        present = set()
        for col in c.required_columns:
            n = counts.get(col, 0)
            if n > 1:
                self.out.add(
                    Issue(
                        src.name,
                        None,
                        1 if src.format == "csv" else None,
                        col,
                        "duplicate-column",
                        None,
                        f"column {col!r} appears {n} times in the header",
                    )
                )
            elif n == 1:
                present.add(col)
            elif col in required:
                self.out.add(self._missing_column_issue(src, col))
        return present

    def _missing_column_issue(self, src: Source, col: str) -> Issue:
        hint = ""
        near = [h for h in src.header if h.strip().lower() == col.lower()]
        if near:
            hint = f"; found {near[0]!r} (check spaces and case)"
        elif len(src.header) == 1 and any(d in src.header[0] for d in ";\t|"):
            hint = "; the header has a single column: is the file not comma-separated?"
        role = (
            "label"
            if col == self.contract.label
            else "id column"
            if col == self.contract.id_column
            else "feature"
        )
        return Issue(
            src.name,
            None,
            1 if src.format == "csv" else None,
            col,
            "required-column",
            None,
            f"required {role} column is missing{hint}",
        )

    # ------------------------------------------------------------------ per chunk
    def _check_chunk(self, chunk: Chunk, present: set[str]) -> None:
        c = self.contract
        tokens = c.missing_tokens
        nums: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        codes: dict[str, np.ndarray] = {}
        masks: list[np.ndarray] = []
        for f in c.features:
            if f.name in present:
                if f.type == "numeric":
                    nums[f.name] = parse_numeric(chunk.columns[f.name], tokens)
                    masks.append(nums[f.name][1])
                else:
                    codes[f.name] = category_codes(chunk.columns[f.name], f.categories, tokens)
                    masks.append(codes[f.name] == -1)
        labels = None
        if c.label in present:
            labels = labels_of(chunk.columns[c.label], tokens)
            masks.append(labels == None)  # noqa: E711  (elementwise test on an object array)
        ids = None
        if c.id_column is not None and c.id_column in present:
            ids = to_text(chunk.columns[c.id_column], tokens)
            masks.append(ids[1])
        if not masks:
            self.rows += len(chunk)
            return
        keep = ~np.logical_and.reduce(masks)
        self.blank += int(len(keep) - keep.sum())
        self.rows += int(keep.sum())
        rows = chunk.rows
        for f in c.features:
            if f.name in nums:
                values, miss, bad = nums[f.name]
                self._count_missing(f.name, miss & keep)
                self._numeric(f, chunk.columns[f.name], rows, keep, values, miss, bad)
            elif f.name in codes:
                self._count_missing(f.name, (codes[f.name] == -1) & keep)
                self._categorical(f, chunk.columns[f.name], rows, keep, codes[f.name])
        if labels is not None:
            self._label(chunk.columns[c.label], rows, keep, labels)
        if ids is not None:
            self._ids(rows, keep, *ids)

    def _count_missing(self, col: str, mask: np.ndarray) -> None:
        self.missing[col] = self.missing.get(col, 0) + int(mask.sum())

    def _report(
        self,
        col: str,
        rule: str,
        mask: np.ndarray,
        rows: np.ndarray,
        raw: pa.Array | pa.ChunkedArray | None,
        message: str,
    ) -> None:
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            return
        shown = idx[: max(self.out.room(col, rule), 0)]
        values = None if raw is None else raw.take(pa.array(shown)).to_pylist()
        self.out.add_rows(col, rule, rows[idx], values, message)

    def _missing_forbidden(self, f: FeatureSpec, rows: np.ndarray, mask: np.ndarray) -> None:
        self._report(
            f.name,
            "missing-value",
            mask,
            rows,
            None,
            "missing value, but the contract's missing policy for this feature is 'forbid'",
        )

    def _numeric(
        self,
        f: FeatureSpec,
        raw: pa.Array,
        rows: np.ndarray,
        keep: np.ndarray,
        values: np.ndarray,
        miss: np.ndarray,
        bad: np.ndarray,
    ) -> None:
        self._report(
            f.name,
            "not-numeric",
            bad & keep,
            rows,
            raw,
            "not a finite number (digits, optional sign, '.', exponent; no thousands separators)",
        )
        lo = -np.inf if f.min is None else f.min
        hi = np.inf if f.max is None else f.max
        with np.errstate(invalid="ignore"):
            outside = (values < lo) | (values > hi)
        self._report(
            f.name,
            "out-of-range",
            outside & keep,
            rows,
            raw,
            f"outside the allowed range [{f.min}, {f.max}]",
        )
        if f.missing == "forbid":
            self._missing_forbidden(f, rows, miss & keep)
        if self.table is not None:
            self.table.add_array(f.name, values[keep])

    def _categorical(
        self, f: FeatureSpec, raw: pa.Array, rows: np.ndarray, keep: np.ndarray, codes: np.ndarray
    ) -> None:
        miss = codes == -1
        shown = ", ".join(f.categories[:8]) + (", ..." if len(f.categories) > 8 else "")
        self._report(
            f.name,
            "unknown-category",
            (codes == -2) & keep,
            rows,
            raw,
            f"not one of the contract's {len(f.categories)} categories ({shown})",
        )
        if f.missing == "forbid":
            self._missing_forbidden(f, rows, miss & keep)
        if self.table is not None:
            self.table.add_array(f.name, codes[keep])

    def _label(self, raw: pa.Array, rows: np.ndarray, keep: np.ndarray, labels: np.ndarray) -> None:
        c = self.contract
        miss = labels == None  # noqa: E711  (elementwise test on an object array)
        self._count_missing(c.label, miss & keep)
        pos = labels == c.positive
        neg = labels == c.negative
        self._report(
            c.label,
            "label-missing",
            miss & keep,
            rows,
            None,
            "the label is missing; drop unlabelled rows before training",
        )
        self._report(
            c.label,
            "label-not-binary",
            ~miss & ~pos & ~neg & keep,
            rows,
            raw,
            f"label must be {c.positive!r} (positive) or {c.negative!r} (negative)",
        )
        self.positives += int((pos & keep).sum())
        self.negatives += int((neg & keep).sum())
        if self.table is not None:
            self.table.add_array(c.label, np.where(pos, 1, np.where(neg, 0, -1))[keep])

    def _ids(self, rows: np.ndarray, keep: np.ndarray, text: pa.Array, miss: np.ndarray) -> None:
        col = self.contract.id_column
        assert col is not None
        self._report(col, "id-missing", miss & keep, rows, None, "the id is missing")
        valid = np.flatnonzero(~miss & keep)
        values = text.take(pa.array(valid))
        self._report(
            col,
            "id-duplicate",
            self.ids.add(values),
            rows[valid],
            values,
            "this id already appeared in an earlier row; ids must be unique",
        )
        if self.table is not None:
            self.table.add_text(col, text.filter(pa.array(keep)))

    # ------------------------------------------------------------------ totals
    def _check_totals(self, src: Source, present: set[str]) -> None:
        c = self.contract
        if self.rows == 0:
            extra = f" ({self.blank} blank rows)" if self.blank else ""
            self.out.add(
                _file_issue(src, "empty-file", f"the file has a header but no data rows{extra}")
            )
            return
        labelled = self.positives + self.negatives
        one_class = labelled > 0 and (self.positives == 0 or self.negatives == 0)
        if self.require_label and c.label in present and one_class:
            only = c.positive if self.positives else c.negative
            self.out.add(
                _file_issue(
                    src,
                    "label-one-class",
                    f"all {labelled} labelled rows are {only!r}; training needs both "
                    f"{c.positive!r} and {c.negative!r}",
                    column=c.label,
                )
            )


def _file_issue(src: Source, rule: str, message: str, column: str | None = None) -> Issue:
    return Issue(src.name, None, None, column, rule, None, message)
