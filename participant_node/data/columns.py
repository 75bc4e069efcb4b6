"""Vectorised cell parsing shared by validation, inference and preprocessing.

Every column arrives as a :mod:`pyarrow` array: text from CSV (all cells read as strings) or
typed from Parquet / pandas. These helpers turn one such array into what the checks need: the
trimmed text with missing cells as nulls, or float64 values plus masks of missing and unparsable
cells. All work is done by Arrow compute kernels or numpy; cost is O(n) per column.

Parsing rules (the same everywhere, so inference and validation agree):

* surrounding whitespace is trimmed; a cell whose trimmed text is one of the contract's
  ``missing_tokens`` (by default pandas' ``na_values`` plus the empty string) is missing;
* a numeric cell must match ``[+-]digits[.digits][e[+-]digits]``: no thousands separators, no
  ``inf``, no hexadecimal; NaN in a float column is missing, +-inf is not numeric;
* labels compare as numbers when they look like numbers (``"1.0"`` equals ``"1"``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

NUMBER_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
LEADING_ZERO_PATTERN = r"^[+-]?0[0-9]"
_NUMBER_RE = re.compile(NUMBER_PATTERN)


def canonical_label(text: str) -> str:
    """Canonical text of a label value: trimmed; numbers written as ints when integral.

    >>> canonical_label(" 1.0 "), canonical_label("bad"), canonical_label("0.5")
    ('1', 'bad', '0.5')
    """
    t = text.strip()
    if _NUMBER_RE.match(t):
        v = float(t)
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    return t


def is_text_type(t: pa.DataType) -> bool:
    """True for string-like (and dictionary-of-string) Arrow types."""
    if pa.types.is_dictionary(t):
        return is_text_type(t.value_type)
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr


def _null_mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def to_text(
    arr: pa.Array | pa.ChunkedArray, missing_tokens: Sequence[str]
) -> tuple[pa.Array, np.ndarray]:
    """Canonical text of each cell and the missing mask.

    Text is trimmed; integers print without a decimal point, floats in shortest form,
    booleans as ``True``/``False``. Missing cells are null in the returned array.

    Returns
    -------
    (text, missing)
        ``pa.string()``-like array with nulls for missing; boolean numpy mask.
    """
    a = _plain(arr)
    if is_text_type(a.type):
        text = pc.utf8_trim_whitespace(a)
        tokens = pa.array([*missing_tokens, ""], type=text.type)
        missing = pc.or_(pc.is_null(text), pc.fill_null(pc.is_in(text, value_set=tokens), True))
    elif pa.types.is_boolean(a.type):
        text = pc.if_else(a, "True", "False")
        missing = a.is_null()
    elif pa.types.is_floating(a.type):
        f = pc.cast(a, pa.float64())
        as_int = pc.cast(
            pc.cast(pc.if_else(pc.is_finite(f), f, 0.0), pa.int64(), safe=False), pa.string()
        )
        integral = pc.and_(pc.is_finite(f), pc.equal(pc.floor(f), f))
        integral = pc.and_(integral, pc.less(pc.abs(f), 1e15))
        text = pc.if_else(integral, as_int, pc.cast(f, pa.string()))
        missing = pc.fill_null(pc.is_nan(f), True)
    elif pa.types.is_integer(a.type) or pa.types.is_decimal(a.type):
        text = pc.cast(a, pa.string())
        missing = a.is_null()
    else:
        text = pc.cast(a, pa.string())
        missing = a.is_null()
    mask = np.asarray(missing.to_numpy(zero_copy_only=False), dtype=bool)
    text = pc.if_else(pa.array(mask), pa.scalar(None, text.type), text)
    return text, mask


def parse_numeric(
    arr: pa.Array | pa.ChunkedArray, missing_tokens: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float64 values of a column plus its missing and not-numeric masks.

    Text is first cast by Arrow as is (the common case: clean numbers and nulls, one pass);
    only a chunk where that fails is trimmed, checked for missing tokens and matched against
    :data:`NUMBER_PATTERN` cell by cell. Arrow's parser accepts the same syntax as the pattern
    plus ``inf``/``nan``, which come out non-finite and are marked bad.

    Returns
    -------
    (values, missing, bad)
        ``values`` has NaN where the cell is missing or bad.
    """
    a = _plain(arr)
    numeric_type = (
        pa.types.is_integer(a.type)
        or pa.types.is_floating(a.type)
        or pa.types.is_boolean(a.type)
        or pa.types.is_decimal(a.type)
    )
    if numeric_type:
        values = np.array(pc.cast(a, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        missing = _null_mask(a) | np.isnan(values)
        bad = np.isinf(values)
        values[bad] = np.nan
        return values, missing, bad
    if is_text_type(a.type):
        try:  # fast path: nulls and clean numbers only
            cast = pc.cast(a, pa.float64())
        except pa.ArrowInvalid:
            pass
        else:
            values = np.array(cast.to_numpy(zero_copy_only=False), dtype=np.float64)
            missing = _null_mask(a)
            bad = ~missing & ~np.isfinite(values)
            values[bad] = np.nan
            return values, missing, bad
    text, missing = to_text(a, missing_tokens)
    ok = pc.fill_null(pc.match_substring_regex(text, NUMBER_PATTERN), False)
    ok_np = np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
    good = pc.if_else(ok, text, pa.scalar(None, text.type))
    values = np.array(pc.cast(good, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    bad = ~missing & ~ok_np
    bad |= np.isinf(values)  # huge exponents such as 1e400
    values[bad] = np.nan
    return values, missing, bad


def has_leading_zero(text: pa.Array) -> bool:
    """True when any cell is a number written with a leading zero (``"01"``, ``"007"``)."""
    hit = pc.match_substring_regex(text, LEADING_ZERO_PATTERN)
    return bool(pc.any(pc.fill_null(hit, False)).as_py())


def _dictionary(
    arr: pa.Array | pa.ChunkedArray, missing_tokens: Sequence[str]
) -> tuple[list[str | None], np.ndarray]:
    """Distinct canonical texts (``None`` = missing) and each cell's index into them.

    Dictionary-encodes the raw cells first and canonicalises only the distinct values, so it is
    one O(n) pass in C plus O(distinct) in Python.
    """
    a = _plain(arr)
    if is_text_type(a.type):
        enc = pc.dictionary_encode(a)
        tokens = set(missing_tokens) | {""}
        uniques: list[str | None] = []
        for v in enc.dictionary.to_pylist():
            t = v.strip()
            uniques.append(None if t in tokens else t)
    else:
        text, _ = to_text(a, missing_tokens)
        enc = pc.dictionary_encode(text)
        uniques = list(enc.dictionary.to_pylist())
    idx = enc.indices.fill_null(len(uniques)).to_numpy(zero_copy_only=False)
    uniques.append(None)
    return uniques, np.asarray(idx, dtype=np.int64)


def labels_of(arr: pa.Array | pa.ChunkedArray, missing_tokens: Sequence[str]) -> np.ndarray:
    """Canonical label (see :func:`canonical_label`) of each cell; ``None`` where missing.

    O(n) in C plus O(distinct values) in Python.
    """
    uniques, idx = _dictionary(arr, missing_tokens)
    lookup = np.array([None if u is None else canonical_label(u) for u in uniques], dtype=object)
    return lookup[idx]


def category_codes(
    arr: pa.Array | pa.ChunkedArray, categories: Sequence[str], missing_tokens: Sequence[str]
) -> np.ndarray:
    """Index of each cell in ``categories``: -1 for a missing cell, -2 for an unknown one.

    O(n) in C plus O(distinct values) in Python.
    """
    uniques, idx = _dictionary(arr, missing_tokens)
    index = {cat: i for i, cat in enumerate(categories)}
    lookup = np.array([-1 if u is None else index.get(u, -2) for u in uniques], dtype=np.int32)
    return lookup[idx]


def series_to_arrow(s: pd.Series) -> pa.Array:
    """A pandas column as an Arrow array (mixed-type object columns become text)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    try:
        return pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        missing = s.isna().to_numpy()
        text = [
            None if m else str(v) for v, m in zip(s.to_numpy(dtype=object), missing, strict=True)
        ]
        return pa.array(text, type=pa.string())
