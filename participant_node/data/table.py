"""Assemble the typed DataFrame that :func:`read_table` returns, chunk by chunk.

Column types: the id column as text, numeric features as float64 (NaN = missing), categorical
features as ``pd.Categorical`` over the contract's categories (code -1 = missing) and the label
as ``pd.Categorical`` over ``[negative, positive]``. Categorical columns are kept as small
integer codes while streaming, so memory is about 8 bytes per numeric cell and 1-4 per
categorical cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from participant_node.data.contract import Contract


class FrameBuilder:
    """Collects validated chunks of the contract's columns; :meth:`build` makes the frame."""

    def __init__(self, contract: Contract, columns: Sequence[str]) -> None:
        self.contract = contract
        self.columns = list(columns)
        self._arrays: dict[str, list[np.ndarray]] = {c: [] for c in self.columns}
        self._text: dict[str, list[pa.Array]] = {c: [] for c in self.columns}

    def add_array(self, column: str, values: np.ndarray) -> None:
        """Append float values (numeric feature) or codes (categorical feature, label)."""
        self._arrays[column].append(values)

    def add_text(self, column: str, values: pa.Array) -> None:
        """Append text values (id column)."""
        self._text[column].append(values)

    def build(self) -> pd.DataFrame:
        """The DataFrame of everything added, columns in the given order."""
        c = self.contract
        data: dict[str, object] = {}
        for col in self.columns:
            if col == c.id_column:
                parts = self._text[col]
                data[col] = (
                    pa.chunked_array(parts).to_pandas() if parts else pd.Series([], dtype="str")
                )
            elif col == c.label:
                codes = _concat(self._arrays[col], np.int8)
                dtype = pd.CategoricalDtype([c.negative, c.positive])
                data[col] = pd.Categorical.from_codes(codes, dtype=dtype)
            elif c.feature(col).type == "numeric":
                data[col] = _concat(self._arrays[col], np.float64)
            else:
                codes = _concat(self._arrays[col], np.int32)
                dtype = pd.CategoricalDtype(list(c.feature(col).categories))
                data[col] = pd.Categorical.from_codes(codes, dtype=dtype)
        return pd.DataFrame(data, columns=self.columns)


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype)
