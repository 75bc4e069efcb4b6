"""Streaming duplicate-id detection agrees with a plain set, however the ids are chunked."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from participant_node.data.ids import IdTracker


@settings(max_examples=80, deadline=None)
@given(
    ids=st.lists(st.text(alphabet="abc01", min_size=1, max_size=3), max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=5),
)
def test_repeats_match_a_python_set(ids: list[str], cuts: list[int]) -> None:
    bounds = sorted({0, len(ids), *[min(c, len(ids)) for c in cuts]})
    tracker = IdTracker()
    got: list[bool] = []
    for lo, hi in itertools.pairwise(bounds):
        got.extend(tracker.add(pa.array(ids[lo:hi], type=pa.string())).tolist())
    seen: set[str] = set()
    expected = []
    for i in ids:
        expected.append(i in seen)
        seen.add(i)
    assert got == expected
    assert len(tracker) == len(seen)


def test_state_dict_round_trip_and_validation() -> None:
    a = IdTracker()
    a.add(pa.array(["x", "y"]))
    b = IdTracker()
    b.load_state_dict(a.state_dict())
    assert b.add(pa.array(["y", "z"])).tolist() == [True, False]
    with pytest.raises(ValueError, match="sorted ascending"):
        b.load_state_dict({"seen": np.array([3, 1], dtype=np.uint64)})
