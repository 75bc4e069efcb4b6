"""Infer a consortium contract from a whole (pooled) data set: used by ``fedcredit sim run``
when no contract is given.

Rules (all computed on the whole file, i.e. consortium-wide, never per member):

* **Type.** A column is *numeric* when every non-missing cell parses as a finite number (see
  :mod:`participant_node.data.columns`), except when a cell is a number written with a leading
  zero (``"01"``, ``"0042"``): those are codes (region, industry), so the column is
  *categorical*. Integer columns with few distinct values (counts such as ``inq_last_6mths``,
  0/1 flags) stay numeric: they are ordered quantities and one-hot encoding would discard the
  order. Boolean columns, text columns and columns named in ``categorical=`` are categorical.
* **Categories** are the distinct trimmed texts, sorted. A text column with more than
  ``max_categories`` distinct values (names, free text, ids) is added to ``exclude``; so is a
  column with no non-missing value. Both are recorded in the contract's ``description``.
* **Range.** ``[min - margin * span, max + margin * span]`` of the observed values, with
  ``span = max - min`` and the lower end kept at 0 for a non-negative column; rounded outward
  to 6 significant digits. It is a sanity check against unit and typing errors, not a filter.
* **Missing values.** Numeric with any missing cell: ``impute`` with the median plus a
  missing-indicator column; categorical with any missing cell: ``category`` (missing is its own
  one-hot column). A column without missing cells gets ``forbid``.
* **Scaling.** ``center`` = mean, ``scale`` = population standard deviation of the observed
  values (1 for a constant column), 6 significant digits.
* **Label.** Exactly two distinct values, one of them ``positive``; the other is ``negative``.

Cost: O(rows x columns) vectorised, plus one sort per numeric column for the median.

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"x": [1.0, 2.0, None], "k": ["a", "b", "a"], "y": [0, 1, 0]})
>>> c = infer_contract(df, label="y", positive="1")
>>> [(f.name, f.type, f.missing) for f in c.features]
[('x', 'numeric', 'impute'), ('k', 'categorical', 'forbid')]
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from participant_node.data.columns import (
    canonical_label,
    has_leading_zero,
    is_text_type,
    labels_of,
    parse_numeric,
    series_to_arrow,
    to_text,
)
from participant_node.data.contract import DEFAULT_MISSING_TOKENS, Contract
from participant_node.data.feature import FeatureSpec
from participant_node.data.reader import ReadFailure, Source

MAX_CATEGORIES = 100
RANGE_MARGIN = 1.0


def infer_contract(
    df: pd.DataFrame,
    label: str,
    positive: str,
    id_column: str | None = None,
    exclude: Sequence[str] = (),
    *,
    categorical: Sequence[str] = (),
    max_categories: int = MAX_CATEGORIES,
    range_margin: float = RANGE_MARGIN,
    name: str = "",
) -> Contract:
    """Infer a contract from a whole data set (rules in the module docstring).

    Parameters
    ----------
    df
        The pooled data, e.g. ``pd.read_csv(path)``; every column not named as label, id or
        excluded becomes a feature (in ``df``'s column order) unless auto-excluded.
    label, positive
        Label column and its positive value (compared as text; ``"1"`` matches ``1``/``1.0``).
    id_column
        Optional record id column (required and unique in members' files; not a feature).
    exclude
        Columns to ignore.
    categorical
        Columns to force to categorical even though they parse as numbers.
    max_categories
        Text columns with more distinct values are excluded.
    range_margin
        Widening of the observed range, in units of its span.

    Raises
    ------
    ValueError
        Unknown columns, or a label that is not binary with ``positive`` as one value.
    """
    cols = {str(col): series_to_arrow(df[col]) for col in df.columns}
    return _infer(
        cols,
        label,
        positive,
        id_column,
        exclude,
        categorical,
        max_categories,
        range_margin,
        name,
        source="the data",
    )


def infer_contract_file(
    path: str | os.PathLike[str],
    label: str,
    positive: str,
    id_column: str | None = None,
    exclude: Sequence[str] = (),
    *,
    encoding: str | None = None,
    categorical: Sequence[str] = (),
    max_categories: int = MAX_CATEGORIES,
    range_margin: float = RANGE_MARGIN,
    name: str = "",
) -> Contract:
    """:func:`infer_contract` on a CSV/Parquet file read with the validator's own reader (so
    missing tokens, encoding and number parsing agree exactly with validation).

    The whole file is held in memory as Arrow text columns.
    """
    try:
        src = Source(path, encoding)
    except ReadFailure as failure:
        raise ValueError(str(failure.issue)) from None
    bad: list[str] = []
    parts: dict[str, list[pa.Array]] = {h: [] for h in src.header}
    if len(set(src.header)) != len(src.header):
        raise ValueError(f"{src.name}: the header repeats a column name: {src.header}")
    try:
        for chunk in src.chunks(
            src.header, lambda issue: bad.append(str(issue)), DEFAULT_MISSING_TOKENS
        ):
            for col, arr in chunk.columns.items():
                parts[col].append(arr)
    except ReadFailure as failure:
        raise ValueError(str(failure.issue)) from None
    if bad:
        raise ValueError(f"{len(bad)} malformed row(s), first: {bad[0]}")
    cols = {
        col: pa.chunked_array(p, type=p[0].type) if p else pa.array([], pa.string())
        for col, p in parts.items()
    }
    return _infer(
        cols,
        label,
        positive,
        id_column,
        exclude,
        categorical,
        max_categories,
        range_margin,
        name,
        source=src.name,
    )


def _infer(
    cols: Mapping[str, pa.Array | pa.ChunkedArray],
    label: str,
    positive: str,
    id_column: str | None,
    exclude: Sequence[str],
    categorical: Sequence[str],
    max_categories: int,
    range_margin: float,
    name: str,
    source: str,
) -> Contract:
    if max_categories < 1:
        raise ValueError(f"max_categories must be >= 1; got {max_categories}")
    if not (math.isfinite(range_margin) and range_margin >= 0):
        raise ValueError(f"range_margin must be a finite number >= 0; got {range_margin}")
    named = {
        "label": [label],
        "id_column": [id_column] if id_column else [],
        "exclude": list(exclude),
        "categorical": list(categorical),
    }
    for role, names in named.items():
        unknown = [n for n in names if n not in cols]
        if unknown:
            raise ValueError(
                f"{role} column(s) {unknown} not found in {source}; columns: {list(cols)}"
            )
    tokens = DEFAULT_MISSING_TOKENS
    pos, neg, n_rows = _label_values(cols[label], positive, label, source)
    features: list[FeatureSpec] = []
    excluded = list(exclude)
    notes: list[str] = []
    for col, arr in cols.items():
        if col in (label, id_column) or col in exclude:
            continue
        spec, why = _infer_feature(
            col, arr, tokens, col in categorical, max_categories, range_margin
        )
        if spec is None:
            excluded.append(col)
            notes.append(f"{col} ({why})")
        else:
            features.append(spec)
    if not features:
        raise ValueError(f"no usable feature column in {source}; auto-excluded: {notes}")
    desc = f"inferred by fedcredit from {n_rows} rows of {source}"
    if notes:
        desc += "; auto-excluded: " + "; ".join(notes)
    return Contract(
        label=label,
        positive=pos,
        negative=neg,
        features=tuple(features),
        id_column=id_column,
        exclude=tuple(excluded),
        name=name,
        description=desc,
    )


def _label_values(
    arr: pa.Array | pa.ChunkedArray, positive: str, label: str, source: str
) -> tuple[str, str, int]:
    values = labels_of(arr, DEFAULT_MISSING_TOKENS)
    present = sorted({v for v in values.tolist() if v is not None})
    pos = canonical_label(str(positive))
    if pos not in present:
        raise ValueError(
            f"positive value {positive!r} does not occur in label column {label!r} "
            f"of {source}; values: {present[:10]}"
        )
    if len(present) != 2:
        raise ValueError(
            f"label column {label!r} of {source} must have exactly 2 distinct "
            f"values; found {len(present)}: {present[:10]}"
        )
    neg = present[0] if present[1] == pos else present[1]
    return pos, neg, len(values)


def _infer_feature(
    col: str,
    arr: pa.Array | pa.ChunkedArray,
    tokens: Sequence[str],
    force_categorical: bool,
    max_categories: int,
    margin: float,
) -> tuple[FeatureSpec | None, str]:
    arr_type = arr.type.value_type if pa.types.is_dictionary(arr.type) else arr.type
    text_like = is_text_type(arr_type)
    categorical = force_categorical or pa.types.is_boolean(arr_type)
    if not categorical:
        values, miss, bad = parse_numeric(arr, tokens)
        if bad.any() and text_like:
            categorical = True
        elif bad.any():
            return None, f"{int(bad.sum())} infinite values"
        elif text_like and has_leading_zero(to_text(arr, tokens)[0]):
            categorical = True
        else:
            return _numeric_spec(col, values, miss, margin)
    text, miss = to_text(arr, tokens)
    cats = sorted(pc.unique(text.drop_null()).to_pylist())
    if not cats:
        return None, "no non-missing value"
    if len(cats) > max_categories:
        return None, f"{len(cats)} distinct text values > {max_categories}"
    return FeatureSpec.categorical(col, cats, missing="category" if miss.any() else "forbid"), ""


def _numeric_spec(
    col: str, values: np.ndarray, miss: np.ndarray, margin: float
) -> tuple[FeatureSpec | None, str]:
    observed = values[~miss]
    if observed.size == 0:
        return None, "no non-missing value"
    lo, hi = float(observed.min()), float(observed.max())
    span = hi - lo
    low = lo - margin * span
    if lo >= 0:
        low = max(low, 0.0)
    center = float(observed.mean())
    std = float(observed.std())
    scale = _sig(std) if std > 0 and math.isfinite(std) and _sig(std) > 0 else 1.0
    has_missing = bool(miss.any())
    return FeatureSpec.numeric(
        col,
        min=_round_out(low, down=True),
        max=_round_out(hi + margin * span, down=False),
        center=_sig(center),
        scale=scale,
        missing="impute" if has_missing else "forbid",
        fill=_sig(float(np.median(observed))) if has_missing else None,
        indicator=has_missing,
    ), ""


def _sig(v: float, digits: int = 6) -> float:
    return float(f"{v:.{digits}g}")


def _round_out(v: float, *, down: bool, digits: int = 6) -> float:
    """``v`` rounded to ``digits`` significant digits away from the inside of the range."""
    if v == 0 or not math.isfinite(v):
        return v
    q = 10.0 ** (math.floor(math.log10(abs(v))) - digits + 1)
    r = (math.floor(v / q) if down else math.ceil(v / q)) * q
    r = _sig(r, digits + 1)
    return min(r, v) if down else max(r, v)
