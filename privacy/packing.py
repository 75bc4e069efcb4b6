"""Fixed-point quantisation and slot packing: many bounded integers in one Paillier plaintext.

A member's update ``v`` (floats) becomes integers ``q`` in ``[0, levels - 1]`` (clip to
``[lo, hi]``, scale by the step, round, i.e. offset so every slot is non-negative). The member
multiplies each ``q`` by its integer weight ``w`` (FedAvg: number of rows), so a slot holds
``w * q``. Summing at most ``max_members`` such slots gives at most
``max_members * max_weight * (levels - 1)``; the slot width ``slot_bits`` is exactly the bit
length of that bound, so a homomorphic sum never carries into the neighbouring slot. Slots are
laid little-endian: value ``j`` sits in plaintext ``j // k`` at bit ``(j % k) * slot_bits``,
with ``k = (modulus_bits - 1) // slot_bits`` so the packed integer stays below ``n``.

Decoding is exact: the slot sums ``S = sum_i w_i q_i`` come back as integers, and
``lo * W + S * step`` (``W = sum_i w_i``) is the weighted sum of the dequantised values, whose
mean ``/ W`` differs from the true weighted mean by at most ``step / 2`` per coordinate.

Guard bits: ``slot_bits - value_bits <= ceil(log2(max_members * max_weight))``. Slots hold
offset (non-negative) integers, so no sign bit is needed; the bound is tight and checked.

Example
-------
>>> import numpy as np
>>> cfg = PackingConfig.counts(value_bits=8, max_members=4)
>>> cfg.slot_bits, cfg.slots_per_plaintext(64)
(10, 6)
>>> q = quantise(np.array([3.0, 0.0, 255.0]), cfg).levels
>>> ints = pack(q, cfg.slot_bits, 6)
>>> unpack(ints, cfg.slot_bits, 6, 3).tolist()
[3, 0, 255]

Complexity: O(L * slot_bits) bit operations for L values (numpy, vectorised).
Reference: the packing ("batching") of Paillier plaintexts follows Ge et al., "Secure and
efficient federated learning with packed homomorphic encryption" (BatchCrypt, USENIX ATC 2020).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from privacy.codec import CodecError
from privacy.errors import CorruptAggregateError

MAX_SLOT_BITS = 62  # slot sums are unpacked into int64


@dataclass(frozen=True)
class PackingConfig:
    """How values are quantised and packed; every member and the coordinator must agree.

    Parameters
    ----------
    lo, hi
        Clip range. Values outside are clipped (and counted).
    value_bits
        Fixed-point precision ``b``: at most ``2**b`` quantisation levels.
    levels
        Number of levels (default ``2**value_bits``); ``step = (hi - lo) / (levels - 1)``.
    max_members
        Largest number of member updates one aggregate may sum.
    max_weight
        Largest integer weight one member may apply (``1`` = unweighted mean).
    """

    lo: float
    hi: float
    value_bits: int = 16
    levels: int | None = None
    max_members: int = 16
    max_weight: int = 1

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi) and self.lo < self.hi):
            raise ValueError(
                f"clip range must be finite with lo < hi; got lo={self.lo}, hi={self.hi}"
            )
        if not _is_int(self.value_bits) or not 2 <= self.value_bits <= 32:
            raise ValueError(f"value_bits must be an integer in [2, 32]; got {self.value_bits}")
        levels = 2**self.value_bits if self.levels is None else self.levels
        if not _is_int(levels) or not 2 <= levels <= 2**self.value_bits:
            raise ValueError(
                f"levels must be an integer in [2, 2**value_bits={2**self.value_bits}]; "
                f"got {levels}"
            )
        object.__setattr__(self, "levels", int(levels))
        if not _is_int(self.max_members) or self.max_members < 1:
            raise ValueError(f"max_members must be an integer >= 1; got {self.max_members}")
        if not _is_int(self.max_weight) or self.max_weight < 1:
            raise ValueError(f"max_weight must be an integer >= 1; got {self.max_weight}")
        if self.slot_bits > MAX_SLOT_BITS:
            raise ValueError(
                f"slot width {self.slot_bits} bits exceeds {MAX_SLOT_BITS} "
                f"(max_members * max_weight * (levels - 1) must fit an int64 slot); "
                f"lower value_bits, max_members or max_weight"
            )

    @classmethod
    def symmetric(
        cls, clip: float, value_bits: int = 16, max_members: int = 16, max_weight: int = 1
    ) -> PackingConfig:
        """Clip to ``[-clip, clip]`` with an odd number of levels so that 0 is exact."""
        if not (math.isfinite(clip) and clip > 0):
            raise ValueError(f"clip must be finite and > 0; got {clip}")
        return cls(-clip, clip, value_bits, 2**value_bits - 1, max_members, max_weight)

    @classmethod
    def counts(
        cls, value_bits: int = 16, max_members: int = 16, signed: bool = False
    ) -> PackingConfig:
        """Integer counts with step 1 (exact): ``[0, 2**b - 1]`` or ``[-2**(b-1), 2**(b-1) - 1]``.

        Use ``signed=True`` for noised counts (:func:`privacy.dp.noise_counts` can go negative).
        """
        lo = -(2 ** (value_bits - 1)) if signed else 0
        return cls(float(lo), float(lo + 2**value_bits - 1), value_bits, None, max_members, 1)

    @property
    def max_level(self) -> int:
        """Largest quantised integer, ``levels - 1``."""
        return int(self.levels or 0) - 1

    @property
    def step(self) -> float:
        """Quantisation step ``(hi - lo) / (levels - 1)``; dequantisation error <= step / 2."""
        return (self.hi - self.lo) / self.max_level

    @property
    def slot_bits(self) -> int:
        """Bits per slot: bit length of ``max_members * max_weight * (levels - 1)``."""
        return (self.max_members * self.max_weight * self.max_level).bit_length()

    @property
    def guard_bits(self) -> int:
        """Bits above ``value_bits`` reserved for sums and weights."""
        return self.slot_bits - self.value_bits

    def slots_per_plaintext(self, modulus_bits: int) -> int:
        """How many slots fit below a modulus of ``modulus_bits`` bits."""
        k = (modulus_bits - 1) // self.slot_bits
        if k < 1:
            raise ValueError(
                f"a {modulus_bits}-bit modulus cannot hold one {self.slot_bits}-bit slot"
            )
        return k


@dataclass(frozen=True)
class Quantised:
    """Quantised integers ``levels`` (int64) and how many inputs were clipped."""

    levels: np.ndarray
    clipped: int


def quantise(values: np.ndarray, config: PackingConfig) -> Quantised:
    """Clip to ``[lo, hi]`` and round to the nearest level ``round((v - lo) / step)``.

    Raises
    ------
    CodecError
        When ``values`` is not 1-D or holds NaN/infinity.
    """
    vec = np.asarray(values, dtype=np.float64)
    if vec.ndim != 1:
        raise CodecError(f"values must be 1-D; got shape {vec.shape}")
    if not np.all(np.isfinite(vec)):
        raise CodecError("values must be finite; got NaN or infinity")
    clipped = int(np.count_nonzero((vec < config.lo) | (vec > config.hi)))
    scaled = np.rint((np.clip(vec, config.lo, config.hi) - config.lo) / config.step)
    levels = np.clip(scaled, 0, config.max_level).astype(np.int64)
    return Quantised(levels=levels, clipped=clipped)


def dequantise_sum(sums: np.ndarray, total_weight: int, config: PackingConfig) -> np.ndarray:
    """Weighted sum of dequantised values from slot sums: ``lo * W + S * step``."""
    return config.lo * float(total_weight) + np.asarray(sums, dtype=np.float64) * config.step


def pack(slots: np.ndarray, slot_bits: int, per_plaintext: int) -> list[int]:
    """Pack non-negative integers ``< 2**slot_bits`` into ``ceil(L / k)`` Python ints."""
    arr = np.asarray(slots, dtype=np.int64)
    if arr.ndim != 1:
        raise CodecError(f"slots must be 1-D; got shape {arr.shape}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= 1 << slot_bits):
        raise CodecError(f"slot values must lie in [0, 2**{slot_bits}); refusing to pack")
    count = max(1, -(-arr.size // per_plaintext))
    padded = np.zeros(count * per_plaintext, dtype=np.int64)
    padded[: arr.size] = arr
    shifts = np.arange(slot_bits, dtype=np.int64)
    bits = ((padded.reshape(count, per_plaintext, 1) >> shifts) & 1).astype(np.uint8)
    packed = np.packbits(bits.reshape(count, -1), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def unpack(
    plaintexts: Sequence[int], slot_bits: int, per_plaintext: int, length: int
) -> np.ndarray:
    """Inverse of :func:`pack`; refuses bits above the last slot or non-zero padding slots."""
    used_bits = slot_bits * per_plaintext
    nbytes = -(-used_bits // 8)
    for i, m in enumerate(plaintexts):
        if m < 0 or m >> used_bits:
            raise CorruptAggregateError(
                f"plaintext {i} has bits above its {per_plaintext} slots: wrong key or tampering"
            )
    raw = b"".join(int(m).to_bytes(nbytes, "little") for m in plaintexts)
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(len(plaintexts), nbytes)
    bits = np.unpackbits(rows, axis=1, bitorder="little")[:, :used_bits]
    weights = np.left_shift(np.int64(1), np.arange(slot_bits, dtype=np.int64))
    slots = bits.reshape(len(plaintexts), per_plaintext, slot_bits).astype(np.int64) @ weights
    flat = slots.reshape(-1)
    if np.any(flat[length:]):
        raise CorruptAggregateError("padding slots after the last value are non-zero")
    return flat[:length].copy()


def _is_int(x: object) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)
