"""The codec seam with the explicit plaintext opt-out."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from privacy import CodecError, InsecurePlaintextCodec, Payload


def test_weighted_mean_of_two_members() -> None:
    # Prepare
    codec = InsecurePlaintextCodec()
    a = codec.encode(np.array([1.0, -2.0, 0.5]), weight=3)
    b = codec.encode(np.array([5.0, 2.0, 0.5]), weight=1)
    # Execute
    decoded = codec.decode(codec.aggregate([a, b]))
    # Assert: (3*1 + 5)/4 = 2, (3*-2 + 2)/4 = -1, 0.5
    assert decoded.mean().tolist() == [2.0, -1.0, 0.5]
    assert decoded.weight == 4.0
    assert decoded.members == 2


@settings(max_examples=50, deadline=None)
@given(
    vectors=st.lists(
        arrays(np.float64, 7, elements=st.floats(-1e3, 1e3, allow_nan=False)),
        min_size=1,
        max_size=6,
    ),
    data=st.data(),
)
def test_decode_of_sum_is_sum_of_weighted_values(
    vectors: list[np.ndarray], data: st.DataObject
) -> None:
    codec = InsecurePlaintextCodec()
    weights = [data.draw(st.integers(0, 1000)) for _ in vectors]
    decoded = codec.decode(
        codec.aggregate([codec.encode(v, w) for v, w in zip(vectors, weights, strict=True)])
    )
    expected = sum(v * w for v, w in zip(vectors, weights, strict=True))
    np.testing.assert_allclose(decoded.values, expected, rtol=1e-12, atol=1e-9)
    assert decoded.weight == sum(weights)


def test_rejects_mismatched_lengths() -> None:
    codec = InsecurePlaintextCodec()
    with pytest.raises(CodecError, match="different lengths"):
        codec.aggregate([codec.encode(np.ones(3), 1), codec.encode(np.ones(4), 1)])


def test_rejects_other_scheme_and_empty_batch() -> None:
    codec = InsecurePlaintextCodec()
    alien = Payload(arrays={"values": np.ones(2)}, meta={"scheme": "paillier-packed", "length": 2})
    with pytest.raises(CodecError, match="scheme"):
        codec.aggregate([codec.encode(np.ones(2), 1), alien])
    with pytest.raises(CodecError, match="empty"):
        codec.aggregate([])


def test_rejects_non_finite_and_negative_weight() -> None:
    codec = InsecurePlaintextCodec()
    with pytest.raises(CodecError, match="finite"):
        codec.encode(np.array([1.0, np.nan]), 1)
    with pytest.raises(CodecError, match="weight"):
        codec.encode(np.ones(2), -1)


def test_mean_of_empty_aggregate_is_refused() -> None:
    codec = InsecurePlaintextCodec()
    decoded = codec.decode(codec.aggregate([codec.encode(np.ones(2), 0)]))
    with pytest.raises(CodecError, match="total weight"):
        decoded.mean()
