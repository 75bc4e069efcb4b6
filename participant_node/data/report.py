"""Validation results: one :class:`Issue` per bad cell, row or file, gathered into a
:class:`ValidationReport`.

Row numbers
-----------
``row`` is the 1-based *data* row: the header is not counted, so the first row under the header
is row 1. For CSV files ``line`` is the physical line in the file (the header is line 1, so
``line = row + 1``; blank lines count too, quoted values may not span lines). For Parquet files
and in-memory frames ``row`` is the 1-based row position and ``line`` is ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

ROW_NOTE = "row = 1-based data row, header not counted; in a CSV file, line = row + 1"

RULES: dict[str, str] = {
    "file-not-found": "the data file does not exist",
    "file-unreadable": "the file cannot be opened or is not valid CSV/Parquet",
    "encoding": "bytes that are not valid in the file's text encoding",
    "empty-file": "no header, or a header but no data rows",
    "header": "the first line must be a comma-separated header",
    "required-column": "a column the contract requires is absent",
    "duplicate-column": "a required column name appears more than once in the header",
    "malformed-row": "a row with the wrong number of fields",
    "not-numeric": "a numeric feature's cell is not a finite number",
    "out-of-range": "a numeric value outside the contract's [min, max]",
    "unknown-category": "a categorical value not in the contract's categories",
    "missing-value": "a missing cell where the contract's missing policy is 'forbid'",
    "label-missing": "the label cell is missing",
    "label-not-binary": "a label value that is neither the positive nor the negative value",
    "label-one-class": "all labelled rows have the same class",
    "id-missing": "the id cell is missing",
    "id-duplicate": "an id that already appeared in an earlier row",
}
"""Every rule a validation issue can carry, with a one-line meaning."""


@dataclass(frozen=True)
class Issue:
    """One validation error.

    Attributes
    ----------
    file
        Path of the data file (or ``<frame>``).
    row, line
        See the module docstring; ``None`` for file-level issues.
    column
        Column the rule applies to, or ``None``.
    rule
        A key of :data:`RULES`.
    value
        The offending cell text (shortened), when there is one.
    message
        What is wrong and, where useful, how to fix it.
    """

    file: str
    row: int | None
    line: int | None
    column: str | None
    rule: str
    value: str | None
    message: str

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown validation rule {self.rule!r}; known: {sorted(RULES)}")

    def location(self) -> str:
        """``row 3 (line 4)``, ``row 3`` or ``file``."""
        if self.row is None:
            return f"line {self.line}" if self.line is not None else "file"
        return f"row {self.row} (line {self.line})" if self.line is not None else f"row {self.row}"

    def __str__(self) -> str:
        col = f", column {self.column!r}" if self.column is not None else ""
        val = f" (value {self.value!r})" if self.value is not None else ""
        return f"{self.file}: {self.location()}{col}: [{self.rule}] {self.message}{val}"


def shorten(text: object, width: int = 60) -> str:
    """``str(text)`` cut to ``width`` characters with an ellipsis."""
    s = str(text)
    return s if len(s) <= width else s[: width - 1] + "…"


class IssueCollector:
    """Counts every issue, keeps the first ``limit`` of each (column, rule) group.

    Memory is O(limit x groups), whatever the number of bad cells.
    """

    def __init__(self, file: str, limit: int, *, csv_lines: bool) -> None:
        if limit < 1:
            raise ValueError(f"max_errors must be >= 1; got {limit}")
        self.file = file
        self.limit = limit
        self.csv_lines = csv_lines
        self.total = 0
        self.counts: dict[str, int] = {}
        self._groups: dict[tuple[str | None, str], list[Issue]] = {}

    def add(self, issue: Issue) -> None:
        """Record one issue."""
        self.total += 1
        self.counts[issue.rule] = self.counts.get(issue.rule, 0) + 1
        kept = self._groups.setdefault((issue.column, issue.rule), [])
        if len(kept) < self.limit:
            kept.append(issue)

    def room(self, column: str | None, rule: str) -> int:
        """How many more issues of this (column, rule) group would be kept."""
        return self.limit - len(self._groups.get((column, rule), ()))

    def add_rows(
        self,
        column: str | None,
        rule: str,
        rows: np.ndarray,
        values: Sequence[object] | None,
        message: str,
    ) -> None:
        """Record one issue per entry of ``rows`` (1-based data rows) with a shared message.

        ``values`` holds the cell text of (at least) the first :meth:`room` rows.
        """
        n = len(rows)
        if n == 0:
            return
        self.total += n
        self.counts[rule] = self.counts.get(rule, 0) + n
        kept = self._groups.setdefault((column, rule), [])
        room = self.limit - len(kept)
        for i in range(min(room, n)):
            row = int(rows[i])
            raw = None if values is None or i >= len(values) else values[i]
            value = None if raw is None else shorten(raw)
            kept.append(
                Issue(
                    self.file,
                    row,
                    row + 1 if self.csv_lines else None,
                    column,
                    rule,
                    value,
                    message,
                )
            )

    def select(self) -> list[Issue]:
        """Up to ``limit`` issues, favouring variety: the first issue of every rule, then the
        first of every (column, rule) group, then the rest in row order; sorted by row."""
        firsts = [g[0] for g in self._groups.values() if g]
        per_rule: dict[str, Issue] = {}
        for issue in firsts:
            per_rule.setdefault(issue.rule, issue)
        rest = sorted((i for g in self._groups.values() for i in g[1:]), key=_order)
        chosen: list[Issue] = []
        taken: set[int] = set()
        for issue in [*per_rule.values(), *sorted(firsts, key=_order), *rest]:
            if len(chosen) == self.limit:
                break
            if id(issue) not in taken:
                taken.add(id(issue))
                chosen.append(issue)
        chosen.sort(key=_order)
        return chosen


def _order(issue: Issue) -> int:
    return -1 if issue.row is None else issue.row


@dataclass
class ValidationReport:
    """Outcome of validating one file against a contract.

    ``ok`` is true when there are no errors. ``issues`` holds at most ``max_errors`` of the
    ``error_count`` errors found; ``counts`` gives the number per rule. ``complete`` is false
    when reading had to stop early (undecodable bytes, unreadable file).
    """

    file: str
    format: str
    encoding: str | None
    contract_fingerprint: str
    rows: int = 0
    blank_rows: int = 0
    positives: int = 0
    negatives: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    ignored_columns: tuple[str, ...] = ()
    issues: list[Issue] = field(default_factory=list)
    error_count: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    complete: bool = True
    max_errors: int = 100

    @property
    def ok(self) -> bool:
        """True when the file passed every rule."""
        return self.error_count == 0

    @property
    def hidden(self) -> int:
        """Errors found but not listed in ``issues``."""
        return self.error_count - len(self.issues)

    def summary(self, max_lines: int | None = None) -> str:
        """Readable multi-line text: verdict, counts, then the issues."""
        if self.ok:
            head = (
                f"{self.file}: OK ({self.format}), {self.rows} rows, {self.positives} "
                f"positive, {self.negatives} negative"
            )
            if self.blank_rows:
                head += f", {self.blank_rows} blank rows skipped"
            return head
        lines = [f"{self.file}: {self.error_count} validation error(s) ({ROW_NOTE})"]
        if not self.complete:
            lines.append("reading stopped early; errors after that point were not checked")
        lines.append("by rule: " + ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items())))
        shown = self.issues if max_lines is None else self.issues[:max_lines]
        lines.extend(f"  {i}" for i in shown)
        more = self.error_count - len(shown)
        if more > 0:
            lines.append(f"  ... and {more} more error(s) not shown")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (issues as dicts)."""
        d = asdict(self)
        d["ok"] = self.ok
        d["ignored_columns"] = list(self.ignored_columns)
        return d


class DataValidationError(ValueError):
    """Raised by :func:`read_table` when a file breaks the contract; carries the report."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(report.summary(max_lines=20))
