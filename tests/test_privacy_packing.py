"""Quantisation and slot packing (privacy.packing): exactness, bounds, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.codec import CodecError
from privacy.errors import CorruptAggregateError
from privacy.packing import PackingConfig, dequantise_sum, pack, quantise, unpack


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"lo": 1.0, "hi": 1.0}, "lo < hi"),
        ({"lo": 0.0, "hi": math.inf}, "lo < hi"),
        ({"lo": 0.0, "hi": 1.0, "value_bits": 1}, "value_bits"),
        ({"lo": 0.0, "hi": 1.0, "value_bits": 8, "levels": 257}, "levels"),
        ({"lo": 0.0, "hi": 1.0, "max_members": 0}, "max_members"),
        ({"lo": 0.0, "hi": 1.0, "max_weight": 0}, "max_weight"),
        ({"lo": 0.0, "hi": 1.0, "value_bits": 32, "max_weight": 2**31}, "62"),
    ],
)
def test_config_rejects_bad_values_naming_the_rule(kwargs: dict[str, float], rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        PackingConfig(**kwargs)  # type: ignore[arg-type]


@given(
    bits=st.integers(2, 24),
    members=st.integers(1, 1000),
    weight=st.integers(1, 5000),
)
def test_slot_width_is_tight_and_within_the_guard_bit_budget(
    bits: int, members: int, weight: int
) -> None:
    # Prepare
    cfg = PackingConfig(0.0, 1.0, bits, None, members, weight)
    largest_sum = members * weight * (2**bits - 1)
    # Assert: the largest possible sum fits, one bit fewer would not, and the guard bits stay
    # within ceil(log2(members * weight)) (+1 of the brief is not needed for offset slots).
    assert largest_sum < 2**cfg.slot_bits
    assert largest_sum >= 2 ** (cfg.slot_bits - 1)
    assert cfg.guard_bits <= math.ceil(math.log2(members * weight)) + 1


def test_symmetric_grid_has_exact_zero_and_sign_symmetry() -> None:
    cfg = PackingConfig.symmetric(clip=0.5, value_bits=8)
    x = np.array([0.0, 0.1234, -0.1234, 0.5, -0.5])
    q = quantise(x, cfg).levels
    back = cfg.lo + q * cfg.step
    assert back[0] == 0.0
    assert back[1] == -back[2]
    assert back[3] == 0.5 and back[4] == -0.5


@given(
    values=st.lists(st.floats(-3.0, 3.0, allow_nan=False), min_size=1, max_size=60),
    bits=st.integers(4, 20),
)
def test_quantisation_error_is_at_most_half_a_step_and_clips_are_counted(
    values: list[float], bits: int
) -> None:
    # Prepare
    cfg = PackingConfig.symmetric(clip=2.0, value_bits=bits)
    v = np.array(values)
    # Execute
    out = quantise(v, cfg)
    back = cfg.lo + out.levels * cfg.step
    # Assert
    assert out.levels.min() >= 0 and out.levels.max() <= 2**bits - 2
    assert np.all(np.abs(back - np.clip(v, -2.0, 2.0)) <= cfg.step / 2 * (1 + 1e-9))
    assert out.clipped == sum(1 for x in values if abs(x) > 2.0)


def test_counts_config_is_exact_for_integers() -> None:
    cfg = PackingConfig.counts(value_bits=10, max_members=3)
    counts = np.array([0, 1, 7, 1023])
    q = quantise(counts, cfg)
    assert cfg.step == 1.0 and q.clipped == 0
    assert q.levels.tolist() == [0, 1, 7, 1023]
    signed = PackingConfig.counts(value_bits=10, signed=True)
    assert dequantise_sum(
        quantise(np.array([-512, -3, 0, 511]), signed).levels, 1, signed
    ).tolist() == [-512, -3, 0, 511]


def test_quantise_refuses_nan_and_2d() -> None:
    cfg = PackingConfig.symmetric(1.0)
    with pytest.raises(CodecError, match="finite"):
        quantise(np.array([0.0, np.nan]), cfg)
    with pytest.raises(CodecError, match="1-D"):
        quantise(np.zeros((2, 2)), cfg)


@settings(max_examples=60)
@given(data=st.data(), slot_bits=st.integers(1, 62), per=st.integers(1, 40))
def test_pack_then_unpack_is_the_identity(data: st.DataObject, slot_bits: int, per: int) -> None:
    # Prepare
    n = data.draw(st.integers(0, 200))
    slots = np.array(
        data.draw(st.lists(st.integers(0, 2**slot_bits - 1), min_size=n, max_size=n)),
        dtype=np.int64,
    )
    # Execute
    ints = pack(slots, slot_bits, per)
    back = unpack(ints, slot_bits, per, n)
    # Assert: the layout is the documented little-endian one, independently recomputed
    assert len(ints) == max(1, -(-n // per))
    expected_first = sum(int(s) << (i * slot_bits) for i, s in enumerate(slots[:per]))
    assert ints[0] == expected_first
    assert back.tolist() == slots.tolist()


def test_unpack_refuses_high_bits_and_dirty_padding() -> None:
    ints = pack(np.array([1, 2, 3]), 4, 2)
    with pytest.raises(CorruptAggregateError, match="bits above"):
        unpack([ints[0] | (1 << 8), ints[1]], 4, 2, 3)
    with pytest.raises(CorruptAggregateError, match="padding"):
        unpack([ints[0], ints[1] | (5 << 4)], 4, 2, 3)


def test_pack_refuses_values_that_do_not_fit() -> None:
    with pytest.raises(CodecError, match="slot values"):
        pack(np.array([16]), 4, 2)
    with pytest.raises(CodecError, match="slot values"):
        pack(np.array([-1]), 4, 2)


def test_slots_per_plaintext_keeps_the_packed_integer_below_the_modulus() -> None:
    cfg = PackingConfig.symmetric(1.0, value_bits=16, max_members=10)
    assert cfg.slot_bits == 20
    assert cfg.slots_per_plaintext(2048) == 102  # 102 * 20 = 2040 <= 2047 bits
    with pytest.raises(ValueError, match="cannot hold"):
        cfg.slots_per_plaintext(20)
