"""Packed Paillier codec: the ``UpdateCodec`` that hides each member's update from the coordinator.

Member side (:class:`PackedPaillierCodec`, holds the consortium private key)::

    values --clip/quantise--> q in [0, levels-1] --times weight w--> slots, then w itself
    in one more slot --pack--> plaintexts --Enc (CRT randomness, optional precomputed pool,
    optional worker threads)--> ciphertexts

Coordinator side (:class:`PaillierAggregator`, public key only, cannot hold a private key):
checks every payload (scheme, key fingerprint, packing layout, ciphertext count, width, range,
coprimality, member limit) and multiplies ciphertexts mod ``n^2``, i.e. adds plaintexts.

Member side again: decrypt, unpack the exact slot sums ``S = sum_i w_i q_i``, de-bias the offset
by the summed weight ``W`` and scale: ``values = lo * W + S * step``, so
``decoded.values / decoded.weight`` is the weighted mean up to ``step / 2`` per coordinate.
Counts (``PackingConfig.counts``, step 1) come back exactly.

Payload layout (Flower ``ArrayRecord`` + ``ConfigRecord`` compatible):

- ``arrays["ciphertexts"]``: ``uint8[ceil((length + 1) / slots), width]``, big-endian
  ciphertexts, ``width`` = bytes of n^2; slot ``length`` (after the values) carries the weight
  (it fits: ``w <= max_weight < 2**slot_bits``)
- ``meta``: scheme ``paillier-packed``, fingerprint, key_bits, value_bits, levels, slot_bits,
  slots (per ciphertext), lo, hi, max_members, max_weight, length, members, clipped,
  ciphertexts (count).

Example
-------
>>> import numpy as np
>>> from privacy.keys import generate_keypair
>>> pub, priv = generate_keypair(512, insecure_small_key=True)
>>> cfg = PackingConfig.symmetric(clip=1.0, value_bits=12, max_members=4, max_weight=10)
>>> member = PackedPaillierCodec(priv, cfg)
>>> coordinator = PaillierAggregator(pub, cfg)
>>> a = member.encode(np.array([0.5, -1.0]), weight=3)
>>> b = member.encode(np.array([-0.5, 1.0]), weight=1)
>>> d = member.decode(coordinator.aggregate([a, b]))
>>> np.round(d.mean(), 3).tolist(), d.weight, d.members
([0.25, -0.5], 4.0, 2)

Complexity: one encryption per ``k = (key_bits - 1) // slot_bits`` values; adding m payloads of
L values costs ``m * ceil((L + 1) / k)`` multiplications mod n^2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from phe import paillier

from privacy.codec import CodecError, Decoded, MetaValue, Payload, check_same_length
from privacy.errors import (
    CiphertextCountError,
    ConfigMismatchError,
    CorruptAggregateError,
    KeyMismatchError,
    MemberLimitError,
    MissingPrivateKeyError,
    WeightRangeError,
)
from privacy.keys import fingerprint
from privacy.packing import PackingConfig, dequantise_sum, pack, quantise, unpack
from privacy.paillier import (
    ObfuscatorPool,
    ObfuscatorSource,
    add_ciphertexts,
    ciphertext_width,
    decrypt_ciphertexts,
    encrypt_plaintexts,
    from_bytes_array,
    to_bytes_array,
)

PAILLIER_SCHEME = "paillier-packed"


@dataclass(frozen=True)
class SlotSums:
    """Exact integer result of decrypting an aggregate: ``sums[j] = sum_i w_i q_ij``."""

    sums: np.ndarray
    weight: int
    members: int
    clipped: int


class PaillierAggregator:
    """Coordinator-side codec: validates and adds ciphertexts; holds the public key only.

    ``decode`` always raises :class:`MissingPrivateKeyError`: this object has no slot for a
    private key (``__slots__``) and refuses one in its constructor.
    """

    __slots__ = ("_config", "_fingerprint", "_public_key", "_slots", "_width")

    def __init__(self, public_key: paillier.PaillierPublicKey, config: PackingConfig) -> None:
        if isinstance(public_key, paillier.PaillierPrivateKey) or not isinstance(
            public_key, paillier.PaillierPublicKey
        ):
            raise TypeError(
                "PaillierAggregator takes a PaillierPublicKey only; got "
                f"{type(public_key).__name__} (the coordinator must never hold a private key)"
            )
        self._public_key = public_key
        self._config = config
        self._fingerprint = fingerprint(public_key)
        self._slots = config.slots_per_plaintext(int(public_key.n).bit_length())
        self._width = ciphertext_width(public_key)

    @property
    def scheme(self) -> str:
        """``paillier-packed``."""
        return PAILLIER_SCHEME

    @property
    def public_key(self) -> paillier.PaillierPublicKey:
        """The consortium public key."""
        return self._public_key

    @property
    def config(self) -> PackingConfig:
        """The packing configuration every payload must match."""
        return self._config

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the public key (recorded in every payload)."""
        return self._fingerprint

    @property
    def slots_per_ciphertext(self) -> int:
        """Values packed into one ciphertext."""
        return self._slots

    @property
    def ciphertext_bytes(self) -> int:
        """Serialised bytes of one ciphertext."""
        return self._width

    def ciphertexts_needed(self, length: int) -> int:
        """Ciphertexts for ``length`` values plus the weight slot."""
        return -(-(length + 1) // self._slots)

    def layout(self) -> dict[str, MetaValue]:
        """The meta fields that must be identical in every payload of this codec."""
        cfg = self._config
        return {
            "fingerprint": self._fingerprint,
            "key_bits": int(self._public_key.n).bit_length(),
            "value_bits": cfg.value_bits,
            "levels": int(cfg.levels or 0),
            "slot_bits": cfg.slot_bits,
            "slots": self._slots,
            "lo": float(cfg.lo),
            "hi": float(cfg.hi),
            "max_members": cfg.max_members,
            "max_weight": cfg.max_weight,
        }

    def encode(self, values: np.ndarray, weight: int) -> Payload:
        """Encrypt ``weight * quantise(values)`` with the public key only (no CRT)."""
        return _encode(self, values, weight, ObfuscatorSource(self._public_key.n).many)

    def aggregate(self, payloads: Sequence[Payload]) -> Payload:
        """Validate every payload and add them homomorphically (needs no secret)."""
        length = check_same_length(payloads, self.scheme)
        members = sum(self._member_count(p, i) for i, p in enumerate(payloads))
        if members > self._config.max_members:
            raise MemberLimitError(
                f"aggregate would sum {members} member updates; the slots were sized for at "
                f"most max_members={self._config.max_members} (a larger sum could carry)"
            )
        cts = add_ciphertexts([self.check(p, i) for i, p in enumerate(payloads)], self._public_key)
        meta: dict[str, MetaValue] = {
            "scheme": self.scheme,
            **self.layout(),
            "length": length,
            "members": members,
            "clipped": sum(int(p.meta.get("clipped", 0)) for p in payloads),
            "ciphertexts": len(cts),
        }
        return Payload(arrays={"ciphertexts": to_bytes_array(cts, self._width)}, meta=meta)

    def decode(self, aggregate: Payload) -> Decoded:
        """Always refused: the coordinator holds no private key."""
        raise MissingPrivateKeyError(
            "the coordinator's PaillierAggregator holds the public key only and cannot decrypt; "
            "members decode with PackedPaillierCodec"
        )

    def check(self, payload: Payload, index: int = 0) -> list[Any]:
        """Validate one payload; return its parsed ciphertexts.

        Raises
        ------
        CodecError
            A subclass naming the broken rule (key, layout, count, range, members).
        """
        where = f"payload {index}"
        if payload.scheme != self.scheme:
            raise CodecError(f"{where} has scheme {payload.scheme!r}; expected {self.scheme!r}")
        meta = payload.meta
        if meta.get("fingerprint") != self._fingerprint:
            raise KeyMismatchError(
                f"{where} was encrypted under key {meta.get('fingerprint')!r}; this consortium's "
                f"key is {self._fingerprint}"
            )
        for key, expected in self.layout().items():
            if meta.get(key) != expected:
                raise ConfigMismatchError(
                    f"{where} has {key}={meta.get(key)!r}; this codec expects {expected!r}"
                )
        self._member_count(payload, index)
        length = int(meta.get("length", -1))
        if length < 0:
            raise CodecError(f"{where} has no valid 'length' in its meta")
        clipped = meta.get("clipped", 0)
        if not isinstance(clipped, int) or clipped < 0:
            raise CodecError(f"{where} has clipped={clipped!r}; must be an integer >= 0")
        if set(payload.arrays) != {"ciphertexts"}:
            raise CiphertextCountError(
                f"{where} has arrays {sorted(payload.arrays)}; expected ['ciphertexts']"
            )
        expected_rows = self.ciphertexts_needed(length)
        rows = np.shape(payload.arrays["ciphertexts"])
        if len(rows) != 2 or rows[0] != expected_rows:
            raise CiphertextCountError(
                f"{where} carries {rows[0] if rows else 0} ciphertexts; {length} values and the "
                f"weight need exactly {expected_rows}"
            )
        return from_bytes_array(payload.arrays["ciphertexts"], self._public_key, where)

    def _member_count(self, payload: Payload, index: int) -> int:
        members = payload.meta.get("members")
        if not isinstance(members, int) or isinstance(members, bool) or members < 1:
            raise CodecError(f"payload {index} has members={members!r}; must be an integer >= 1")
        return members


class PackedPaillierCodec:
    """Member-side codec: encode with CRT randomness, add, decrypt (holds the private key).

    Parameters
    ----------
    private_key
        The consortium private key (members only).
    config
        Packing configuration shared by the consortium.
    workers
        Threads for large batches (``2`` uses both cores of a small machine; gmpy2 releases
        the GIL during modular exponentiation).
    pool
        Optional precomputed randomness for this key (:class:`ObfuscatorPool`).
    use_crt
        Sample randomness through CRT (default); ``False`` times the public-key path.
    """

    def __init__(
        self,
        private_key: paillier.PaillierPrivateKey,
        config: PackingConfig,
        *,
        workers: int = 1,
        pool: ObfuscatorPool | None = None,
        use_crt: bool = True,
    ) -> None:
        if not isinstance(private_key, paillier.PaillierPrivateKey):
            raise TypeError(f"private_key must be a PaillierPrivateKey; got {type(private_key)}")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be an integer >= 1; got {workers!r}")
        pub = private_key.public_key
        if pool is not None and pool.modulus != int(pub.n):
            raise KeyMismatchError("the randomness pool was built for another key")
        self._key = private_key
        self._aggregator = PaillierAggregator(pub, config)
        self._workers = workers
        self._pool = pool or ObfuscatorPool.for_key(pub, private_key if use_crt else None)

    @property
    def scheme(self) -> str:
        """``paillier-packed``."""
        return PAILLIER_SCHEME

    @property
    def aggregator(self) -> PaillierAggregator:
        """The public part (what the coordinator runs)."""
        return self._aggregator

    @property
    def pool(self) -> ObfuscatorPool:
        """The randomness pool used by :meth:`encode` (fill it offline with :meth:`precompute`)."""
        return self._pool

    def precompute(self, length: int, updates: int = 1) -> None:
        """Precompute randomness for ``updates`` future encodes of ``length`` values."""
        per_update = self._aggregator.ciphertexts_needed(length)
        self._pool.fill(per_update * updates, self._workers)

    def encode(self, values: np.ndarray, weight: int) -> Payload:
        """Quantise, weight, pack and encrypt ``values`` (see module docstring)."""
        return _encode(self._aggregator, values, weight, self._take)

    def aggregate(self, payloads: Sequence[Payload]) -> Payload:
        """Same as the coordinator's :meth:`PaillierAggregator.aggregate`."""
        return self._aggregator.aggregate(payloads)

    def decode(self, aggregate: Payload) -> Decoded:
        """Decrypt and de-bias: ``values = lo * W + S * step`` (weighted sum), ``weight = W``."""
        sums = self.decode_sums(aggregate)
        values = dequantise_sum(sums.sums, sums.weight, self._aggregator.config)
        return Decoded(values=values, weight=float(sums.weight), members=sums.members)

    def decode_sums(self, aggregate: Payload) -> SlotSums:
        """Decrypt to the exact integer slot sums and the summed weight."""
        agg = self._aggregator
        plain = decrypt_ciphertexts(agg.check(aggregate), self._key, self._workers)
        length, members, cfg = int(aggregate.meta["length"]), aggregate.members, agg.config
        slots = unpack(plain, cfg.slot_bits, agg.slots_per_ciphertext, length + 1)
        sums, weight = slots[:length], int(slots[length])
        if members > cfg.max_members:
            raise MemberLimitError(
                f"aggregate claims {members} members; at most max_members={cfg.max_members}"
            )
        if weight > members * cfg.max_weight:
            raise CorruptAggregateError(
                f"decrypted weight {weight} exceeds members * max_weight = "
                f"{members * cfg.max_weight}: wrong key or tampering"
            )
        if sums.size and int(sums.max()) > weight * cfg.max_level:
            raise CorruptAggregateError(
                f"a slot sum exceeds weight * (levels - 1) = {weight * cfg.max_level}: "
                "wrong key or tampering"
            )
        return SlotSums(sums, weight, members, int(aggregate.meta.get("clipped", 0)))

    def _take(self, count: int) -> list[Any]:
        return self._pool.take(count, self._workers)


def _encode(agg: PaillierAggregator, values: np.ndarray, weight: int, obfuscators: Any) -> Payload:
    """Shared encode path; ``obfuscators(count)`` supplies fresh randomness."""
    cfg = agg.config
    _check_weight(weight, cfg.max_weight)
    q = quantise(values, cfg)
    slots = np.append(q.levels * np.int64(weight), np.int64(weight))
    plaintexts = pack(slots, cfg.slot_bits, agg.slots_per_ciphertext)
    cts = encrypt_plaintexts(plaintexts, agg.public_key, obfuscators(len(plaintexts)))
    meta: Mapping[str, MetaValue] = {
        "scheme": PAILLIER_SCHEME,
        **agg.layout(),
        "length": int(q.levels.size),
        "members": 1,
        "clipped": q.clipped,
        "ciphertexts": len(cts),
    }
    return Payload(arrays={"ciphertexts": to_bytes_array(cts, agg.ciphertext_bytes)}, meta=meta)


def _check_weight(weight: int, max_weight: int) -> None:
    if isinstance(weight, bool) or not isinstance(weight, int | np.integer):
        raise WeightRangeError(
            f"weight must be an integer (e.g. number of rows); got {weight!r} "
            f"({type(weight).__name__})"
        )
    if not 0 <= int(weight) <= max_weight:
        raise WeightRangeError(
            f"weight must be in [0, max_weight={max_weight}]; got {weight} "
            f"(raise PackingConfig.max_weight, at the cost of wider slots)"
        )
