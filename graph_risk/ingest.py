"""Read relationship-graph tables from a CSV/Parquet directory and validate them.

A graph directory holds up to five files named after the tables of :mod:`graph_risk.frames`
(``companies.csv`` or ``companies.parquet``, ``persons.*``, ``shareholdings.*``,
``guarantees.*``, ``defaults.*``). A missing file means "no rows of that table in this batch",
which is how incremental batches are written.

:func:`validate_frames` checks a batch against every rule below and reports **all** problems at
once as a :class:`GraphValidationError` whose issues name the file, the 1-based data row
(row 1 is the first line after a CSV header), the column and the rule. Rules:

* ``missing column`` / ``unknown column`` / ``missing value`` / ``control character``;
* ``not a number`` (finite decimal), ``not an integer``, ``not an ISO date`` (``YYYY-MM-DD``);
* ``share outside (0, 1]``; ``shares sum above 1`` for one company (stored holdings that the
  batch does not replace count too); ``negative amount`` (guarantee amount, registered capital,
  total assets; net assets may be negative); ``end before start``;
* ``self-guarantee``, ``self-holding``; ``holder_type not person|company``;
* ``unknown company id`` / ``unknown person id`` (neither in the batch nor in the store);
  ``id used by a person and a company`` (one id namespace for the graph's nodes);
* ``duplicate row`` (identical rows) / ``duplicate key`` (same key, different values).

Keys (an ingested row replaces the stored row with the same key): companies ``company_id``;
persons ``person_id``; shareholdings ``(holder_id, company_id)``; guarantees ``(guarantor_id,
borrower_id, start_date, end_date)``; defaults ``company_id`` (one observed default per company).

Example
-------
>>> frames, sources = read_graph_dir("data/graph")            # doctest: +SKIP
>>> clean = validate_frames(frames, sources)                    # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graph_risk.frames import (
    COMPANY_OPTIONAL_COLUMNS,
    HOLDER_TYPES,
    TABLE_COLUMNS,
    GraphFrames,
)

TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "companies": ("company_id",),
    "persons": ("person_id",),
    "shareholdings": ("holder_id", "company_id"),
    "guarantees": ("guarantor_id", "borrower_id", "start_date", "end_date"),
    "defaults": ("company_id",),
}
FLOAT_COLUMNS: dict[str, tuple[str, ...]] = {
    "companies": ("registered_capital", "total_assets", "net_assets"),
    "shareholdings": ("share",),
    "guarantees": ("amount",),
}
NON_NEGATIVE: dict[str, tuple[str, ...]] = {
    "companies": ("registered_capital", "total_assets"),
    "guarantees": ("amount",),
}
INT_COLUMNS: dict[str, tuple[str, ...]] = {"companies": ("founded_year",)}
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "guarantees": ("start_date", "end_date"),
    "defaults": ("default_date",),
}
SHARE_TOLERANCE = 1e-9
FILE_SUFFIXES: tuple[str, ...] = (".csv", ".parquet")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def all_columns(table: str) -> tuple[str, ...]:
    """Required then optional columns of ``table``, in canonical order."""
    optional = COMPANY_OPTIONAL_COLUMNS if table == "companies" else ()
    return TABLE_COLUMNS[table] + optional


def text_columns(table: str) -> tuple[str, ...]:
    """Columns of ``table`` holding text (ids, names, dates)."""
    typed = FLOAT_COLUMNS.get(table, ()) + INT_COLUMNS.get(table, ())
    return tuple(c for c in all_columns(table) if c not in typed)


@dataclass(frozen=True)
class Issue:
    """One validation problem: where (file, 1-based data row, column) and which rule."""

    source: str
    row: int | None
    column: str | None
    rule: str
    value: str | None = None

    def __str__(self) -> str:
        where = self.source
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        got = f" (got {self.value!r})" if self.value is not None else ""
        return f"{where}: {self.rule}{got}"


class GraphValidationError(ValueError):
    """Bad graph input; :attr:`issues` lists every problem found (nothing was written)."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(f"{len(self.issues)} problem(s) in graph input:\n{lines}")


@dataclass(frozen=True)
class KnownGraph:
    """What the store already holds, as far as validating a batch needs.

    ``kinds`` maps ids referenced by the batch that exist in the store to ``"company"`` or
    ``"person"``; ``holdings`` are the stored shareholdings of the batch's held companies.
    """

    kinds: Mapping[str, str] = field(default_factory=dict)
    holdings: pd.DataFrame = field(default_factory=lambda: canonical_table("shareholdings", None))


def _source_names(sources: Mapping[str, str] | None) -> dict[str, str]:
    given = dict(sources or {})
    return {t: given.get(t, t) for t in TABLE_COLUMNS}


def read_graph_dir(path: str | os.PathLike[str]) -> tuple[GraphFrames, dict[str, str]]:
    """Read the table files of a graph directory, unvalidated (CSV cells stay strings).

    Returns the frames (a missing file gives an empty table) and each table's file name, for
    error messages. Raises ``FileNotFoundError`` when ``path`` is not a directory and
    :class:`GraphValidationError` when it holds no table file or both a CSV and a Parquet file
    for one table.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"graph directory {str(root)!r} does not exist")
    tables: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    issues: list[Issue] = []
    for table in TABLE_COLUMNS:
        found = [root / f"{table}{s}" for s in FILE_SUFFIXES if (root / f"{table}{s}").is_file()]
        if len(found) > 1:
            issues.append(Issue(str(root), None, None, f"both {found[0].name} and "
                                f"{found[1].name} present; keep one file per table"))
            continue
        if not found:
            tables[table] = pd.DataFrame({c: pd.Series(dtype="str") for c in TABLE_COLUMNS[table]})
            continue
        file = found[0]
        sources[table] = file.name
        try:
            if file.suffix == ".csv":
                tables[table] = pd.read_csv(file, dtype=str, keep_default_na=False)
            else:
                tables[table] = pd.read_parquet(file)
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            issues.append(Issue(file.name, None, None, f"unreadable file: {exc}"))
    if not sources and not issues:
        names = ", ".join(f"{t}.csv|parquet" for t in TABLE_COLUMNS)
        issues.append(Issue(str(root), None, None, f"no graph table files (expected {names})"))
    if issues:
        raise GraphValidationError(issues)
    return GraphFrames(**tables), sources


_EMPTY: dict[str, pd.DataFrame] = {}


def _dtype(table: str, column: str) -> Any:
    if column in FLOAT_COLUMNS.get(table, ()):
        return "float64"
    return "int64" if column in INT_COLUMNS.get(table, ()) else "str"


def canonical_table(table: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    """``frame`` (already valid) with canonical columns, dtypes and row order (by key).

    Text columns use pandas' ``str`` dtype (missing optional values are NaN), floats
    ``float64`` and ``founded_year`` ``int64``; rows are sorted by the table key.
    """
    columns = all_columns(table)
    if frame is None or (frame.empty and set(columns) <= set(frame.columns)):
        if table not in _EMPTY:
            _EMPTY[table] = pd.DataFrame(
                {c: pd.Series([], dtype=_dtype(table, c)) for c in columns})
        return _EMPTY[table].copy(deep=False)
    size = len(frame)
    data: dict[str, Any] = {}
    for c in columns:
        dtype = _dtype(table, c)
        if c in frame.columns and str(frame[c].dtype) == dtype:
            data[c] = frame[c].array
            continue
        values = frame[c].to_numpy(dtype=object) if c in frame.columns else [None] * size
        data[c] = pd.Series(values, dtype=dtype).array
    out = pd.DataFrame(data, columns=list(columns))
    key = list(TABLE_KEYS[table])
    if size > 1 and not (len(key) == 1 and out[key[0]].is_monotonic_increasing):
        out = out.sort_values(key, kind="stable").reset_index(drop=True)
    return out


def canonical_frames(frames: GraphFrames) -> GraphFrames:
    """Every table of ``frames`` in canonical form (see :func:`canonical_table`)."""
    return GraphFrames(**{t: canonical_table(t, frames.table(t)) for t in TABLE_COLUMNS})


class _Checker:
    """Collects issues while parsing one batch; one instance per :func:`validate_frames`."""

    def __init__(self, sources: dict[str, str]) -> None:
        self.sources = sources
        self.issues: list[Issue] = []

    def flag(self, table: str, mask: np.ndarray, column: str | None, rule: str,
             values: pd.Series | None = None) -> None:
        for i in np.flatnonzero(mask):
            value = None if values is None else str(values.iloc[i])
            self.issues.append(Issue(self.sources[table], int(i) + 1, column, rule, value))

    def columns(self, table: str, frame: pd.DataFrame) -> None:
        allowed = set(all_columns(table))
        for c in TABLE_COLUMNS[table]:
            if c not in frame.columns:
                self.issues.append(Issue(self.sources[table], None, c, "missing column"))
        for c in frame.columns:
            if c not in allowed:
                self.issues.append(Issue(self.sources[table], None, str(c), "unknown column"))

    def text(self, table: str, frame: pd.DataFrame, column: str, required: bool) -> pd.Series:
        raw = frame[column]
        if pd.api.types.is_float_dtype(raw.dtype) and raw.notna().any():
            self.flag(table, raw.notna().to_numpy(), column, "not text", raw)
            return pd.Series([None] * len(raw), dtype="object")
        values = raw.to_numpy(dtype=object)
        out = np.full(len(values), None, dtype=object)
        missing = np.zeros(len(values), dtype=bool)
        control = np.zeros(len(values), dtype=bool)
        for i, value in enumerate(values):
            if value is None or value is pd.NA or (isinstance(value, float) and value != value):
                missing[i] = True
                continue
            text = value if isinstance(value, str) else str(value)
            if not text:
                missing[i] = True
            elif _CONTROL.search(text):
                control[i] = True
            else:
                out[i] = text
        if required:
            self.flag(table, missing, column, "missing value")
        self.flag(table, control, column, "control character", pd.Series(values))
        return pd.Series(out, dtype="object")

    def number(self, table: str, frame: pd.DataFrame, column: str, integer: bool) -> pd.Series:
        raw = frame[column].astype("object")
        missing = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
        parsed = pd.to_numeric(raw.where(~missing, None), errors="coerce").astype("float64")
        bad = ~missing & ~np.isfinite(parsed.to_numpy())
        self.flag(table, missing, column, "missing value")
        self.flag(table, bad, column, "not a number", raw)
        if integer:
            frac = ~missing & ~bad & (parsed.to_numpy() != np.round(parsed.to_numpy()))
            self.flag(table, frac, column, "not an integer", raw)
            bad = bad | frac
        return parsed.where(~(missing | bad))

    def date(self, table: str, text: pd.Series, column: str) -> pd.Series:
        present = text.notna().to_numpy()
        shaped = text.fillna("").str.match(_ISO_DATE).to_numpy()
        valid = pd.to_datetime(text.where(shaped), format="%Y-%m-%d", errors="coerce").notna()
        bad = present & ~valid.to_numpy()
        self.flag(table, bad, column, "not an ISO date (YYYY-MM-DD)", text)
        return text.where(~bad)


def _dates_as_text(series: pd.Series) -> pd.Series:
    """Parquet date/datetime columns as ISO strings; anything else unchanged."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series.dt.strftime("%Y-%m-%d")
    return series.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)


def _parse_table(check: _Checker, table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Parse every present column (a missing one is reported once and left empty)."""
    check.columns(table, frame)
    parsed: dict[str, pd.Series] = {}
    for column in all_columns(table):
        if column not in frame.columns:
            parsed[column] = pd.Series([None] * len(frame), dtype="object")
        elif column in FLOAT_COLUMNS.get(table, ()) + INT_COLUMNS.get(table, ()):
            integer = column in INT_COLUMNS.get(table, ())
            parsed[column] = check.number(table, frame, column, integer)
        elif column in DATE_COLUMNS.get(table, ()):
            as_text = frame[[column]].assign(**{column: _dates_as_text(frame[column])})
            parsed[column] = check.date(table, check.text(table, as_text, column, True), column)
        else:
            required = column in TABLE_COLUMNS[table]
            parsed[column] = check.text(table, frame, column, required)
        if column not in FLOAT_COLUMNS.get(table, ()) + INT_COLUMNS.get(table, ()):
            parsed[column] = parsed[column].astype("str")
    return pd.DataFrame(parsed).reset_index(drop=True)


def _duplicates(check: _Checker, table: str, frame: pd.DataFrame) -> None:
    key = list(TABLE_KEYS[table])
    sub = frame[frame[key].notna().all(axis=1).to_numpy()]
    later = sub.groupby(key, sort=False).cumcount().to_numpy() > 0
    if not later.any():
        return
    first_row = sub.index.to_series().groupby([sub[k] for k in key], sort=False).transform("min")
    same_row = sub.duplicated(keep="first").to_numpy()
    for i, whole in zip(sub.index[later], same_row[later], strict=True):
        values = ", ".join(f"{k}={frame.at[i, k]!s}" for k in key)
        rule = "duplicate row" if whole else "duplicate key"
        check.issues.append(Issue(check.sources[table], int(i) + 1, key[0],
                                  f"{rule} ({values}; first in row {first_row[i] + 1})"))


def member(values: pd.Series, known: set[str]) -> np.ndarray:
    """Boolean mask: which ``values`` are in ``known`` (a plain set look-up; much faster than
    ``Series.isin`` on Arrow-backed strings)."""
    return np.fromiter((v in known for v in values.to_numpy(dtype=object)), dtype=bool,
                       count=len(values))


def _unknown(check: _Checker, table: str, values: pd.Series, column: str, known: set[str],
             rule: str) -> None:
    mask = values.notna().to_numpy() & ~member(values, known)
    check.flag(table, mask, column, rule, values)


def _rules(check: _Checker, t: dict[str, pd.DataFrame], known: KnownGraph) -> None:
    stored_companies = {i for i, k in known.kinds.items() if k == "company"}
    stored_persons = {i for i, k in known.kinds.items() if k == "person"}
    companies = set(t["companies"]["company_id"].dropna()) | stored_companies
    persons = set(t["persons"]["person_id"].dropna()) | stored_persons
    clash = "id used by a person and a company"
    p, c = t["persons"], t["companies"]
    check.flag("persons", member(p["person_id"], companies), "person_id", clash,
               p["person_id"])
    check.flag("companies", member(c["company_id"], stored_persons), "company_id",
               clash, c["company_id"])
    _unknown(check, "companies", c["legal_rep_id"], "legal_rep_id", persons, "unknown person id")
    for name in NON_NEGATIVE["companies"]:
        check.flag("companies", (c[name] < 0).to_numpy(), name, "negative amount", c[name])

    s = t["shareholdings"]
    htype = s["holder_type"]
    bad_type = htype.notna().to_numpy() & ~htype.isin(HOLDER_TYPES).to_numpy()
    check.flag("shareholdings", bad_type, "holder_type", "holder_type not person|company", htype)
    _unknown(check, "shareholdings", s["company_id"], "company_id", companies,
             "unknown company id")
    _unknown(check, "shareholdings", s["holder_id"].where(htype == "person"), "holder_id",
             persons, "unknown person id")
    _unknown(check, "shareholdings", s["holder_id"].where(htype == "company"), "holder_id",
             companies, "unknown company id")
    self_hold = (s["holder_id"] == s["company_id"]).fillna(False).to_numpy(dtype=bool)
    check.flag("shareholdings", self_hold, "holder_id", "self-holding", s["holder_id"])
    share = s["share"]
    outside = share.notna().to_numpy() & ~((share > 0) & (share <= 1)).to_numpy(dtype=bool)
    check.flag("shareholdings", outside, "share", "share outside (0, 1]", share)
    _share_sums(check, s, known.holdings)

    g = t["guarantees"]
    for name in ("guarantor_id", "borrower_id"):
        _unknown(check, "guarantees", g[name], name, companies, "unknown company id")
    self_g = (g["guarantor_id"] == g["borrower_id"]).fillna(False).to_numpy(dtype=bool)
    check.flag("guarantees", self_g, "borrower_id", "self-guarantee", g["borrower_id"])
    check.flag("guarantees", (g["amount"] < 0).to_numpy(), "amount", "negative amount",
               g["amount"])
    backwards = (g["end_date"] < g["start_date"]).fillna(False).to_numpy(dtype=bool)
    check.flag("guarantees", backwards, "end_date", "end before start", g["end_date"])

    d = t["defaults"]
    _unknown(check, "defaults", d["company_id"], "company_id", companies, "unknown company id")


def _share_sums(check: _Checker, batch: pd.DataFrame, stored: pd.DataFrame) -> None:
    usable = batch.dropna(subset=["holder_id", "company_id", "share"])
    usable = usable[(usable["share"] > 0) & (usable["share"] <= 1)]
    if usable.empty:
        return
    pairs = usable[["holder_id", "company_id"]].drop_duplicates()
    kept = stored[stored["company_id"].isin(set(usable["company_id"]))]
    kept = kept.merge(pairs, on=["holder_id", "company_id"], how="left", indicator=True)
    kept = kept[(kept["_merge"] == "left_only").to_numpy()]
    combined = pd.concat([kept[["company_id", "share"]], usable[["company_id", "share"]]])
    totals = combined.groupby("company_id")["share"].sum()
    for company, total in totals[totals > 1 + SHARE_TOLERANCE].items():
        row = int(usable.index[usable["company_id"] == company][0])
        check.issues.append(Issue(check.sources["shareholdings"], row + 1, "share",
                                  f"shares sum above 1 (company {company} totals {total:.6g})"))


def referenced_ids(frames: GraphFrames) -> set[str]:
    """Every id a batch names (its own ids and the ids it points at)."""
    cols = {
        "companies": ("company_id", "legal_rep_id"),
        "persons": ("person_id",),
        "shareholdings": ("holder_id", "company_id"),
        "guarantees": ("guarantor_id", "borrower_id"),
        "defaults": ("company_id",),
    }
    out: set[str] = set()
    for table, names in cols.items():
        frame = frames.table(table)
        for name in names:
            if name in frame.columns:
                out.update(str(v) for v in frame[name].dropna() if str(v) != "")
    return out


def validate_frames(
    frames: GraphFrames,
    sources: Mapping[str, str] | None = None,
    known: KnownGraph | None = None,
) -> GraphFrames:
    """Validate one batch against the rules of the module docstring; return it canonical.

    Parameters
    ----------
    frames : GraphFrames
        The batch; cells may be strings (as read from CSV) or typed values.
    sources : mapping, optional
        File name per table, used in issues (default: the table name).
    known : KnownGraph, optional
        What the store already holds (ids and holdings), for incremental batches.

    Raises
    ------
    GraphValidationError
        Listing every problem found.

    Complexity
    ----------
    O(R log R) for R rows in the batch (vectorised pandas).
    """
    check = _Checker(_source_names(sources))
    known = known or KnownGraph()
    parsed: dict[str, pd.DataFrame] = {}
    for table in TABLE_COLUMNS:
        parsed[table] = _parse_table(check, table, frames.table(table))
        _duplicates(check, table, parsed[table])
    _rules(check, parsed, known)
    if check.issues:
        order = {check.sources[t]: i for i, t in enumerate(TABLE_COLUMNS)}
        check.issues.sort(key=lambda x: (order.get(x.source, -1), x.row or 0))
        raise GraphValidationError(check.issues)
    return GraphFrames(**{t: canonical_table(t, parsed[t]) for t in TABLE_COLUMNS})
