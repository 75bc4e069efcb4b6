"""Contract -> design matrix: the same float32 encoding at every member.

Per feature, in contract order (see :attr:`FeatureSpec.output_names`):

* numeric: ``z = clip((x_filled - center) / scale, -z_clip, z_clip)``, where ``x_filled`` is
  ``x`` with missing cells replaced by the contract's ``fill``; then, when the feature has
  ``indicator = true``, a 0/1 column ``<name>__missing``;
* categorical: one 0/1 column ``<name>=<category>`` per contract category, plus
  ``<name>=__missing__`` under the ``category`` missing policy.

Nothing is estimated from the data: every constant comes from the contract. A cell the contract
does not allow (unknown category, forbidden missing value, text in a numeric column) raises
``ValueError`` naming the column; validate files with :func:`validate_file` first for a full
report.

Cost: O(n x d) memory for the output, O(n x features) vectorised work (no Python per row).

Example
-------
>>> import pandas as pd
>>> from participant_node.data import Contract, FeatureSpec
>>> c = Contract(label="y", positive="1", negative="0", features=(
...     FeatureSpec.numeric("x", center=1.0, scale=2.0),
...     FeatureSpec.categorical("k", ["a", "b"])))
>>> pre = Preprocessor(c)
>>> pre.feature_names
['x', 'k=a', 'k=b']
>>> pre.transform(pd.DataFrame({"x": [3.0], "k": ["b"]})).tolist()
[[1.0, 0.0, 1.0]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from participant_node.data.columns import (
    category_codes,
    labels_of,
    parse_numeric,
    series_to_arrow,
)
from participant_node.data.contract import Contract
from participant_node.data.feature import FeatureSpec


class Preprocessor:
    """Encode validated frames with a fixed contract (no fitted state of its own)."""

    def __init__(self, contract: Contract) -> None:
        self._setup(contract)

    def _setup(self, contract: Contract) -> None:
        if not isinstance(contract, Contract):
            raise TypeError(f"Preprocessor needs a Contract; got {type(contract).__name__}")
        self.contract = contract
        self._offsets: list[int] = []
        width = 0
        for f in contract.features:
            self._offsets.append(width)
            width += len(f.output_names)
        self.width = width

    @property
    def feature_names(self) -> list[str]:
        """Design-matrix column names, in order."""
        return [n for f in self.contract.features for n in f.output_names]

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild the encoder: the contract."""
        return {"contract": self.contract.to_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the contract (and so the encoding) with one from :meth:`state_dict`."""
        self._setup(Contract.from_dict(state["contract"]))

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """The ``(n, width)`` float32 design matrix of ``df``.

        ``df`` needs every feature column (typed as :func:`read_table` returns them, or raw
        text/numbers as read by pandas); other columns are ignored.
        """
        missing_cols = [f.name for f in self.contract.features if f.name not in df.columns]
        if missing_cols:
            raise ValueError(f"frame lacks contract feature column(s) {missing_cols}")
        n = len(df)
        # filled feature by feature: rows of a (width, n) array are contiguous, so every write
        # is sequential; one transposing copy at the end gives the C-ordered (n, width) matrix
        out = np.zeros((self.width, n), dtype=np.float32)
        for f, off in zip(self.contract.features, self._offsets, strict=True):
            if f.type == "numeric":
                self._numeric(f, df[f.name], out, off)
            else:
                self._categorical(f, df[f.name], out, off)
        return np.ascontiguousarray(out.T)

    def labels(self, df: pd.DataFrame) -> np.ndarray:
        """Labels as int8: 1 for the contract's positive value, 0 for its negative value."""
        c = self.contract
        if c.label not in df.columns:
            raise ValueError(f"frame lacks the label column {c.label!r}")
        s = df[c.label]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = [str(x) for x in s.cat.categories]
            lookup = np.array([*cats, None], dtype=object)
            values = lookup[s.cat.codes.to_numpy()]
        else:
            values = labels_of(series_to_arrow(s), c.missing_tokens)
        pos = values == c.positive
        neg = values == c.negative
        bad = ~(pos | neg)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"label column {c.label!r}: {int(bad.sum())} value(s) are neither "
                f"{c.positive!r} nor {c.negative!r} (first at position {i}: {values[i]!r})"
            )
        return pos.astype(np.int8)

    # ------------------------------------------------------------------ features
    def _numeric(self, f: FeatureSpec, s: pd.Series, out: np.ndarray, off: int) -> None:
        if pd.api.types.is_float_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype):
            x = s.to_numpy(dtype=np.float64, na_value=np.nan)
            miss = np.isnan(x)
            bad = np.isinf(x)
        else:
            x, miss, bad = parse_numeric(series_to_arrow(s), self.contract.missing_tokens)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"feature {f.name!r}: {int(bad.sum())} cell(s) are not finite "
                f"numbers (first at position {i}: {s.iloc[i]!r})"
            )
        if miss.any():
            if f.missing != "impute" or f.fill is None:
                raise ValueError(
                    f"feature {f.name!r}: {int(miss.sum())} missing value(s) but "
                    f"the contract's missing policy is {f.missing!r}"
                )
            x = np.where(miss, f.fill, x)
        z = (x - f.center) / f.scale
        np.clip(z, -self.contract.z_clip, self.contract.z_clip, out=z)
        out[off] = z
        if f.indicator:
            out[off + 1] = miss

    def _categorical(self, f: FeatureSpec, s: pd.Series, out: np.ndarray, off: int) -> None:
        cats = list(f.categories)
        if isinstance(s.dtype, pd.CategoricalDtype) and list(s.cat.categories) == cats:
            codes = s.cat.codes.to_numpy().astype(np.int64)
            miss = codes < 0
            unknown = np.zeros_like(miss)
        else:
            codes = category_codes(series_to_arrow(s), cats, self.contract.missing_tokens)
            codes = codes.astype(np.int64)
            miss = codes == -1
            unknown = codes == -2
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise ValueError(
                f"feature {f.name!r}: {int(unknown.sum())} value(s) not among the "
                f"contract's categories (first at position {i}: {s.iloc[i]!r})"
            )
        if miss.any():
            if f.missing != "category":
                raise ValueError(
                    f"feature {f.name!r}: {int(miss.sum())} missing value(s) but "
                    f"the contract's missing policy is {f.missing!r}"
                )
            codes = np.where(miss, len(cats), codes)
        out[off + codes, np.arange(len(codes))] = 1.0
