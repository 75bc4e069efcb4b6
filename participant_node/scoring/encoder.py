"""One record -> one design-matrix row, without pandas (the low-latency scoring path).

Follows :class:`participant_node.data.Preprocessor` cell for cell (the same parsing rules as
``participant_node.data.columns``: trimmed text, the contract's missing tokens, the strict
number pattern; numeric ``z = clip((x - center) / scale)``, missing indicator, one-hot
categories with the ``__missing__`` column); a test checks both give identical rows. Lookups
are precomputed per feature, so a record costs O(features) dictionary work, ~10 us.

Example
-------
>>> from participant_node.data import Contract, FeatureSpec
>>> c = Contract(label="y", positive="1", negative="0", features=(
...     FeatureSpec.numeric("x", center=1.0, scale=2.0),
...     FeatureSpec.categorical("k", ["a", "b"])))
>>> RecordEncoder(c).encode({"x": "3", "k": " b "}).tolist()
[1.0, 0.0, 1.0]
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np

from participant_node.data import Contract, FeatureSpec
from participant_node.data.columns import NUMBER_PATTERN

_NUMBER = re.compile(NUMBER_PATTERN)


class RecordError(ValueError):
    """A record's cell breaks the contract (names the column and the rule)."""


class RecordEncoder:
    """Encode mapping records with a fixed contract."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self._missing = frozenset(contract.missing_tokens) | {""}
        self._plan: list[tuple[FeatureSpec, int, dict[str, int]]] = []
        width = 0
        for f in contract.features:
            index = {c: width + i for i, c in enumerate(f.categories)}
            self._plan.append((f, width, index))
            width += len(f.output_names)
        self.width = width

    def _text(self, value: object) -> str | None:
        """Canonical text of a cell (``None`` when missing), as ``columns.to_text``."""
        if value is None:
            return None
        if isinstance(value, bool):
            return "True" if value else "False"
        if isinstance(value, float | np.floating):
            v = float(value)
            if math.isnan(v):
                return None
            if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
                return str(int(v))
            return repr(v)
        if isinstance(value, int | np.integer):
            return str(int(value))
        t = str(value).strip()
        return None if t in self._missing else t

    def _number(self, name: str, value: object) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool | int | float | np.integer | np.floating):
            v = float(value)
            if math.isnan(v):
                return None
            if math.isinf(v):
                raise RecordError(f"column {name!r}: {value!r} is not a finite number")
            return v
        t = str(value).strip()
        if t in self._missing:
            return None
        if not _NUMBER.match(t) or math.isinf(float(t)):
            raise RecordError(f"column {name!r}: {value!r} is not a number (rule: numeric)")
        return float(t)

    def encode(self, record: Mapping[str, object]) -> np.ndarray:
        """The ``(width,)`` float64 row of ``record``; :class:`RecordError` on a bad cell."""
        out = np.zeros(self.width, dtype=np.float64)
        z_clip = self.contract.z_clip
        for f, off, index in self._plan:
            if f.name not in record:
                raise RecordError(f"record lacks contract feature column {f.name!r}")
            if f.type == "numeric":
                x = self._number(f.name, record[f.name])
                if x is None:
                    if f.missing != "impute" or f.fill is None:
                        raise RecordError(
                            f"column {f.name!r}: missing value but the contract's missing "
                            f"policy is {f.missing!r}"
                        )
                    x = float(f.fill)
                    if f.indicator:
                        out[off + 1] = 1.0
                z = (x - f.center) / f.scale
                out[off] = min(max(z, -z_clip), z_clip)
                continue
            t = self._text(record[f.name])
            if t is None:
                if f.missing != "category":
                    raise RecordError(
                        f"column {f.name!r}: missing value but the contract's missing "
                        f"policy is {f.missing!r}"
                    )
                out[off + len(f.categories)] = 1.0
            elif t in index:
                out[index[t]] = 1.0
            else:
                raise RecordError(
                    f"column {f.name!r}: {record[f.name]!r} is not among the contract's "
                    "categories (rule: category)"
                )
        return out
