"""Streaming duplicate detection for the id column.

:class:`IdTracker` sees the ids chunk by chunk and marks every id that already appeared, in
this chunk or an earlier one. It keeps a sorted array of 64-bit hashes of the distinct ids seen
so far: 8 bytes per distinct id, whatever the id's length. Per chunk of ``m`` ids it costs one
sort of the chunk, ``m`` binary searches and one linear merge (the array is two sorted runs),
so a file of ``n`` rows in chunks of ``m`` costs O(n log m + n^2 / m) with a small constant.

Two different ids share a hash with probability ~ n^2 / 2^65 (about 3e-6 for ten million ids);
such a pair would be reported as a duplicate.

Example
-------
>>> import pyarrow as pa
>>> t = IdTracker()
>>> t.add(pa.array(["a", "b", "a"])).tolist(), t.add(pa.array(["b", "c"])).tolist()
([False, False, True], [True, False])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


def hash_ids(ids: pa.Array) -> np.ndarray:
    """64-bit hashes (uint64) of the text of ``ids`` (no nulls)."""
    values = np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object)
    return pd.util.hash_array(values, categorize=False)


class IdTracker:
    """Marks ids already seen in earlier :meth:`add` calls or earlier in the same call."""

    def __init__(self) -> None:
        self._seen = np.empty(0, dtype=np.uint64)

    def __len__(self) -> int:
        """Number of distinct ids seen."""
        return len(self._seen)

    def add(self, ids: pa.Array) -> np.ndarray:
        """Record ``ids`` (non-null text); returns True where an id is a repeat."""
        h = hash_ids(ids)
        order = np.argsort(h, kind="stable")
        hs = h[order]  # sorted; equal hashes keep their order, so the first is the earliest
        first = np.ones(len(hs), dtype=bool)
        first[1:] = hs[1:] != hs[:-1]
        in_seen = np.zeros(len(hs), dtype=bool)
        if len(self._seen):
            pos = np.minimum(np.searchsorted(self._seen, hs), len(self._seen) - 1)
            in_seen = self._seen[pos] == hs
        dup = np.empty(len(hs), dtype=bool)
        dup[order] = ~first | in_seen
        merged = np.concatenate([self._seen, hs[first & ~in_seen]])
        merged.sort(kind="stable")  # two sorted runs: a linear merge
        self._seen = merged
        return dup

    def state_dict(self) -> dict[str, Any]:
        """The sorted hashes seen so far."""
        return {"seen": self._seen.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict` (hashes must be sorted uint64)."""
        seen = np.asarray(state["seen"], dtype=np.uint64)
        if len(seen) > 1 and not bool((seen[1:] >= seen[:-1]).all()):
            raise ValueError("IdTracker state: hashes must be sorted ascending")
        self._seen = seen.copy()
