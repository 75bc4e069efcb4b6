"""Packed Paillier codec (privacy.paillier_codec): exact sums, layout, and every refusal."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phe import paillier

from privacy.codec import CodecError, InsecurePlaintextCodec, Payload, UpdateCodec
from privacy.errors import (
    CiphertextCountError,
    CiphertextRangeError,
    ConfigMismatchError,
    CorruptAggregateError,
    KeyMismatchError,
    MemberLimitError,
    MissingPrivateKeyError,
    WeightRangeError,
)
from privacy.keys import fingerprint, generate_keypair
from privacy.packing import PackingConfig
from privacy.paillier import ObfuscatorSource, encrypt_plaintexts
from privacy.paillier_codec import PAILLIER_SCHEME, PackedPaillierCodec, PaillierAggregator

CLIP, BITS, MAX_MEMBERS, MAX_WEIGHT = 1.5, 12, 6, 50
CFG = PackingConfig.symmetric(CLIP, value_bits=BITS, max_members=MAX_MEMBERS, max_weight=MAX_WEIGHT)


@cache
def keys() -> tuple[paillier.PaillierPublicKey, paillier.PaillierPrivateKey]:
    """Small keys generated once per session (explicitly insecure, for speed)."""
    return generate_keypair(768, insecure_small_key=True)


@cache
def member() -> PackedPaillierCodec:
    return PackedPaillierCodec(keys()[1], CFG)


def coordinator() -> PaillierAggregator:
    return PaillierAggregator(keys()[0], CFG)


def expected_levels(v: np.ndarray) -> np.ndarray:
    """Quantised levels recomputed from the documented grid: 2^b - 1 levels over [-c, c]."""
    step = 2 * CLIP / (2**BITS - 2)
    return np.rint((np.clip(v, -CLIP, CLIP) + CLIP) / step).astype(np.int64)


def test_both_sides_implement_the_codec_protocol() -> None:
    assert isinstance(member(), UpdateCodec)
    assert isinstance(coordinator(), UpdateCodec)
    assert member().scheme == coordinator().scheme == PAILLIER_SCHEME


value = st.one_of(
    st.floats(-2 * CLIP, 2 * CLIP, allow_nan=False),
    st.sampled_from([-CLIP, CLIP, 0.0, -2 * CLIP, 2 * CLIP]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), members=st.integers(1, MAX_MEMBERS))
def test_decoded_sum_equals_the_sum_of_quantised_updates_exactly(
    data: st.DataObject, members: int
) -> None:
    # Prepare: random shapes, members, weights, negative/boundary/out-of-range values
    length = data.draw(st.integers(1, 150))
    ups = [
        np.array(data.draw(st.lists(value, min_size=length, max_size=length)))
        for _ in range(members)
    ]
    weights = [data.draw(st.integers(0, MAX_WEIGHT)) for _ in range(members)]
    # Execute
    payloads = [member().encode(u, w) for u, w in zip(ups, weights, strict=True)]
    agg = coordinator().aggregate(payloads)
    sums = member().decode_sums(agg)
    decoded = member().decode(agg)
    # Assert: exact integer sums, summed weight, member count, clip count
    expected = sum(w * expected_levels(u) for u, w in zip(ups, weights, strict=True))
    assert sums.sums.tolist() == np.asarray(expected).tolist()
    assert sums.weight == sum(weights) and decoded.weight == float(sum(weights))
    assert agg.members == members == decoded.members
    assert agg.meta["clipped"] == sum(int(np.sum(np.abs(u) > CLIP)) for u in ups)
    # ... and the weighted mean is within half a step of the clipped weighted mean
    if sum(weights) > 0:
        truth = sum(w * np.clip(u, -CLIP, CLIP) for u, w in zip(ups, weights, strict=True))
        step = 2 * CLIP / (2**BITS - 2)
        assert np.all(np.abs(decoded.mean() - truth / sum(weights)) <= step / 2 + 1e-12)


def test_weighted_mean_matches_the_plaintext_codec_within_half_a_step() -> None:
    # Prepare
    rng = np.random.default_rng(3)
    ups = [rng.uniform(-1, 1, 40) for _ in range(3)]
    weights = [5, 17, 50]
    plain = InsecurePlaintextCodec()
    # Execute
    ours = member().decode(
        coordinator().aggregate([member().encode(u, w) for u, w in zip(ups, weights, strict=True)])
    )
    ref = plain.decode(
        plain.aggregate([plain.encode(u, w) for u, w in zip(ups, weights, strict=True)])
    )
    # Assert
    assert np.max(np.abs(ours.mean() - ref.mean())) <= CFG.step / 2
    assert ours.weight == ref.weight == 72


def test_histogram_counts_round_trip_exactly() -> None:
    # Prepare
    cfg = PackingConfig.counts(value_bits=16, max_members=4)
    codec = PackedPaillierCodec(keys()[1], cfg)
    hists = [np.array([0, 3, 65535, 12]), np.array([5, 0, 0, 1]), np.array([1, 1, 1, 1])]
    # Execute
    decoded = codec.decode(codec.aggregate([codec.encode(h, weight=1) for h in hists]))
    # Assert
    assert decoded.values.tolist() == [6, 4, 65536, 14]
    assert decoded.weight == 3


def test_signed_noised_counts_round_trip_exactly() -> None:
    cfg = PackingConfig.counts(value_bits=12, max_members=3, signed=True)
    codec = PackedPaillierCodec(keys()[1], cfg)
    a, b = np.array([-3, 0, 7]), np.array([2, -2048, 2047])
    decoded = codec.decode(codec.aggregate([codec.encode(a, 1), codec.encode(b, 1)]))
    assert decoded.values.tolist() == [-1, -2048, 2054]


def test_payload_layout_fits_a_flower_array_record() -> None:
    # Prepare
    from flwr.common import Array, ArrayRecord, ConfigRecord

    pub, _ = keys()
    payload = member().encode(np.linspace(-1, 1, 300), weight=7)
    width = (pub.nsquare.bit_length() + 7) // 8
    # Execute: through Flower's records and back
    record = ArrayRecord({k: Array(v) for k, v in payload.arrays.items()})
    config = ConfigRecord(dict(payload.meta))
    back = Payload({k: record[k].numpy() for k in record}, dict(config))
    # Assert
    slots = 767 // CFG.slot_bits
    assert payload.arrays["ciphertexts"].dtype == np.uint8
    assert set(payload.arrays) == {"ciphertexts"}
    assert payload.arrays["ciphertexts"].shape == (-(-301 // slots), width)  # + weight slot
    assert payload.meta["fingerprint"] == fingerprint(pub)
    assert payload.meta["key_bits"] == 768 and payload.meta["slot_bits"] == CFG.slot_bits
    assert payload.meta["length"] == 300 and payload.meta["clipped"] == 0
    assert member().decode(coordinator().aggregate([back])).values.shape == (300,)


def test_aggregator_cannot_hold_or_use_a_private_key() -> None:
    _, priv = keys()
    with pytest.raises(TypeError, match="PaillierPublicKey only"):
        PaillierAggregator(priv, CFG)  # type: ignore[arg-type]
    agg = coordinator()
    with pytest.raises(AttributeError):
        agg.private_key = priv  # type: ignore[attr-defined]
    payload = agg.encode(np.array([0.25]), 1)  # public-key encryption works
    with pytest.raises(MissingPrivateKeyError, match="cannot decrypt"):
        agg.decode(agg.aggregate([payload]))
    assert member().decode(payload).values.tolist() == pytest.approx([0.25], abs=CFG.step)


def test_refuses_a_payload_under_another_key() -> None:
    other = PackedPaillierCodec(generate_keypair(768, insecure_small_key=True)[1], CFG)
    foreign = other.encode(np.array([0.1, 0.2]), 1)
    with pytest.raises(KeyMismatchError, match="encrypted under key"):
        coordinator().aggregate([member().encode(np.array([0.1, 0.2]), 1), foreign])
    with pytest.raises(KeyMismatchError):
        member().decode(foreign)


def test_refuses_a_forged_fingerprint_on_foreign_ciphertexts() -> None:
    # Ciphertexts from a bigger foreign key relabelled with our fingerprint: caught by width.
    other = PackedPaillierCodec(generate_keypair(1024, insecure_small_key=True)[1], CFG)
    forged = other.encode(np.array([0.1]), 1)
    meta = {**forged.meta, **coordinator().layout()}
    with pytest.raises(CiphertextCountError, match="rows"):
        coordinator().aggregate([Payload(forged.arrays, meta)])


def _replace_row(payload: Payload, value: int) -> Payload:
    arr = payload.arrays["ciphertexts"].copy()
    arr[0] = np.frombuffer(value.to_bytes(arr.shape[1], "big"), dtype=np.uint8)
    return Payload({**payload.arrays, "ciphertexts": arr}, payload.meta)


@pytest.mark.parametrize(
    ("which", "rule"), [("n2", "outside"), ("zero", "outside"), ("n", "coprime")]
)
def test_refuses_values_that_are_not_ciphertexts(which: str, rule: str) -> None:
    pub, _ = keys()
    bad = {"n2": pub.nsquare + 1, "zero": 0, "n": pub.n}[which]
    payload = member().encode(np.array([0.1, 0.2]), 1)
    if bad.bit_length() > payload.arrays["ciphertexts"].shape[1] * 8:
        pytest.fail("test value does not fit the ciphertext width")
    with pytest.raises(CiphertextRangeError, match=rule):
        coordinator().aggregate([_replace_row(payload, bad)])


def test_refuses_a_wrong_number_of_ciphertexts() -> None:
    payload = member().encode(np.zeros(200), 1)
    short = Payload(
        {**payload.arrays, "ciphertexts": payload.arrays["ciphertexts"][:-1]}, payload.meta
    )
    with pytest.raises(CiphertextCountError, match="need exactly"):
        coordinator().aggregate([short])
    extra = Payload({**payload.arrays, "weight": payload.arrays["ciphertexts"][:1]}, payload.meta)
    with pytest.raises(CiphertextCountError, match="expected"):
        coordinator().aggregate([extra])


def test_refuses_more_members_than_the_guard_bits_allow() -> None:
    # Prepare: the largest possible slot sum (top level, top weight, all members) next to zeros
    payloads = [
        member().encode(np.array([CLIP, -CLIP, CLIP]), MAX_WEIGHT) for _ in range(MAX_MEMBERS)
    ]
    # Execute
    full = coordinator().aggregate(payloads)
    # Assert: no carry into neighbours at the limit, refusal one member beyond it
    top = MAX_MEMBERS * MAX_WEIGHT * (2**BITS - 2)
    assert member().decode_sums(full).sums.tolist() == [top, 0, top]
    assert member().decode(full).values.tolist() == pytest.approx(
        [
            MAX_MEMBERS * MAX_WEIGHT * CLIP,
            -MAX_MEMBERS * MAX_WEIGHT * CLIP,
            MAX_MEMBERS * MAX_WEIGHT * CLIP,
        ]
    )
    with pytest.raises(MemberLimitError, match="max_members=6"):
        coordinator().aggregate([full, payloads[0]])
    with pytest.raises(MemberLimitError, match="max_members=6"):
        member().decode(Payload(full.arrays, {**full.meta, "members": MAX_MEMBERS + 1}))


def test_refuses_other_packing_configs_schemes_and_lengths() -> None:
    other_cfg = dataclasses.replace(CFG, hi=2.0)
    foreign = PackedPaillierCodec(keys()[1], other_cfg).encode(np.array([0.1]), 1)
    with pytest.raises(ConfigMismatchError, match=r"hi=2\.0"):
        coordinator().aggregate([foreign])
    plain = InsecurePlaintextCodec().encode(np.array([0.1]), 1)
    with pytest.raises(CodecError, match="scheme"):
        coordinator().aggregate([plain])
    a, b = member().encode(np.zeros(3), 1), member().encode(np.zeros(4), 1)
    with pytest.raises(CodecError, match="different lengths"):
        coordinator().aggregate([a, b])
    with pytest.raises(CodecError, match="empty"):
        coordinator().aggregate([])


@pytest.mark.parametrize(
    ("weight", "rule"),
    [(MAX_WEIGHT + 1, "max_weight"), (-1, r"\[0,"), (2.0, "integer"), (True, "integer")],
)
def test_refuses_weights_outside_the_configured_range(weight: object, rule: str) -> None:
    with pytest.raises(WeightRangeError, match=rule):
        member().encode(np.array([0.1]), weight)  # type: ignore[arg-type]


def test_refuses_non_finite_values() -> None:
    with pytest.raises(CodecError, match="finite"):
        member().encode(np.array([0.1, np.inf]), 1)


def test_decode_detects_a_ciphertext_that_cannot_be_a_sum_of_updates() -> None:
    # Prepare: a valid-looking payload whose first ciphertext encrypts n - 1 (all bits set)
    pub, _ = keys()
    payload = member().encode(np.array([0.1, 0.2]), 1)
    bad = encrypt_plaintexts([pub.n - 1], pub, ObfuscatorSource(pub.n).many(1))[0]
    tampered = _replace_row(payload, int(bad))
    # Execute / Assert: the coordinator cannot tell, the member can
    agg = coordinator().aggregate([tampered])
    with pytest.raises(CorruptAggregateError):
        member().decode(agg)


def test_precomputed_randomness_is_consumed_once_by_encode() -> None:
    # Prepare
    codec = PackedPaillierCodec(keys()[1], CFG)
    codec.precompute(length=100, updates=2)
    before = codec.pool.generated
    # Execute
    a = codec.encode(np.full(100, 0.5), 1)
    b = codec.encode(np.full(100, 0.5), 1)
    # Assert: no fresh randomness needed, pool empty, ciphertexts of equal inputs differ
    assert codec.pool.generated == before and len(codec.pool) == 0
    assert codec.pool.issued == before
    assert not np.array_equal(a.arrays["ciphertexts"], b.arrays["ciphertexts"])
    assert codec.decode(codec.aggregate([a, b])).mean().tolist() == pytest.approx(
        [0.5] * 100, abs=CFG.step
    )


def test_two_worker_threads_decode_like_one() -> None:
    codec2 = PackedPaillierCodec(keys()[1], CFG, workers=2)
    v = np.linspace(-1, 1, 2000)
    payloads = [codec2.encode(v, 3), member().encode(-v, 2)]
    agg = coordinator().aggregate(payloads)
    assert np.array_equal(codec2.decode_sums(agg).sums, member().decode_sums(agg).sums)


def test_codec_validates_its_arguments() -> None:
    with pytest.raises(TypeError, match="PaillierPrivateKey"):
        PackedPaillierCodec(keys()[0], CFG)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="workers"):
        PackedPaillierCodec(keys()[1], CFG, workers=0)
    other_pool = PackedPaillierCodec(generate_keypair(512, insecure_small_key=True)[1], CFG).pool
    with pytest.raises(KeyMismatchError, match="pool"):
        PackedPaillierCodec(keys()[1], CFG, pool=other_pool)


def test_round_trip_with_a_2048_bit_key() -> None:
    # Prepare
    pub, priv = generate_keypair(2048)
    cfg = PackingConfig.symmetric(1.0, value_bits=16, max_members=10)
    codec, agg = PackedPaillierCodec(priv, cfg), PaillierAggregator(pub, cfg)
    ups = [np.array([0.5, -0.25, 1.0]), np.array([-0.5, 0.75, 1.0]), np.array([0, 0, -1.0])]
    # Execute
    decoded = codec.decode(agg.aggregate([codec.encode(u, 1) for u in ups]))
    # Assert
    assert agg.slots_per_ciphertext == 102
    assert np.max(np.abs(decoded.mean() - sum(ups) / 3)) <= cfg.step / 2


def test_importing_privacy_pulls_in_no_torch_flower_or_fastapi() -> None:
    code = (
        "import sys, privacy, privacy.cli; "
        "print(sorted(m for m in ('torch', 'flwr', 'fastapi', 'opacus') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
