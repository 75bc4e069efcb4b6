"""The update codec seam: how a member's update travels and how the coordinator adds updates.

Every federated exchange in fedcredit (model updates, evaluation histograms) goes through one
interface with three steps::

    payload   = codec.encode(values, weight)      # member side
    aggregate = codec.aggregate([p1, p2, ...])    # coordinator side, needs no secret
    decoded   = codec.decode(aggregate)           # member side (key holder)

``encode`` multiplies the values by the integer ``weight`` (FedAvg weights a member by its
number of rows) so that ``decoded.values / decoded.weight`` is the weighted mean. ``aggregate``
is a pure sum: it is the only operation the coordinator performs, so an additively homomorphic
codec (packed Paillier, see ``privacy.paillier``) drops in without touching training or the
strategy.

Payloads are plain ``dict[str, numpy.ndarray]`` (they map one to one onto a Flower
``ArrayRecord``) plus a small ``meta`` mapping of scalars (scheme, fingerprint, lengths) that
maps onto a ``ConfigRecord``.

The plaintext codec here is the explicit, named opt-out ``--insecure-plaintext``: it exists for
baselines and tests, and every report written with it says so.

Example
-------
>>> import numpy as np
>>> codec = InsecurePlaintextCodec()
>>> a = codec.encode(np.array([1.0, 2.0]), weight=3)
>>> b = codec.encode(np.array([3.0, 0.0]), weight=1)
>>> d = codec.decode(codec.aggregate([a, b]))
>>> (d.values / d.weight).tolist(), d.weight, d.members
([1.5, 1.5], 4.0, 2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

MetaValue = int | float | str
PLAINTEXT_SCHEME = "insecure-plaintext"


class CodecError(ValueError):
    """A payload that cannot be aggregated or decoded safely (wrong shape, key, range...)."""


@dataclass(frozen=True)
class Payload:
    """What travels between a member and the coordinator.

    Parameters
    ----------
    arrays
        Named numpy arrays (ciphertexts as bytes/object arrays for encrypted codecs).
    meta
        Scalars describing the payload: ``scheme``, ``length`` (number of logical values),
        ``members`` (how many member updates were summed) and scheme-specific fields.
    """

    arrays: Mapping[str, np.ndarray]
    meta: Mapping[str, MetaValue] = field(default_factory=dict)

    @property
    def scheme(self) -> str:
        """The codec scheme that produced the payload."""
        return str(self.meta.get("scheme", ""))

    @property
    def members(self) -> int:
        """How many member updates this payload is the sum of."""
        return int(self.meta.get("members", 1))

    def nbytes(self) -> int:
        """Bytes of array data (what a member uploads, before transport framing)."""
        return int(sum(np.asarray(a).nbytes for a in self.arrays.values()))


@dataclass(frozen=True)
class Decoded:
    """A decoded aggregate: ``values`` is the weighted sum, ``weight`` the summed weight."""

    values: np.ndarray
    weight: float
    members: int

    def mean(self) -> np.ndarray:
        """Weighted mean ``values / weight``; refuses an empty aggregate."""
        if self.weight <= 0:
            raise CodecError(f"cannot average an aggregate with total weight {self.weight}")
        return self.values / self.weight


@runtime_checkable
class UpdateCodec(Protocol):
    """The three-step interface every codec implements (see module docstring)."""

    @property
    def scheme(self) -> str:
        """Name recorded in reports and attestations, e.g. ``paillier-packed``."""
        ...

    def encode(self, values: np.ndarray, weight: int) -> Payload:
        """Member side: encode ``weight * values`` (``values`` is 1-D float)."""
        ...

    def aggregate(self, payloads: Sequence[Payload]) -> Payload:
        """Coordinator side: add payloads; must not need any secret."""
        ...

    def decode(self, aggregate: Payload) -> Decoded:
        """Key-holder side: recover the summed values and weight."""
        ...


def check_same_length(payloads: Sequence[Payload], scheme: str) -> int:
    """Validate a batch of payloads before adding them; return their common length.

    Raises
    ------
    CodecError
        When the batch is empty, mixes schemes, or lengths differ.
    """
    if not payloads:
        raise CodecError("cannot aggregate an empty list of payloads")
    lengths = set()
    for i, p in enumerate(payloads):
        if p.scheme != scheme:
            raise CodecError(f"payload {i} has scheme {p.scheme!r}; this codec adds {scheme!r}")
        lengths.add(int(p.meta.get("length", -1)))
    if len(lengths) != 1:
        raise CodecError(f"payloads have different lengths {sorted(lengths)}; refusing to add")
    return lengths.pop()


class InsecurePlaintextCodec:
    """Float64 plaintext codec: the named, explicit opt-out from encryption.

    The coordinator sees every member's weighted update in the clear. Use only for baselines,
    tests, and when the whole consortium agreed to ``--insecure-plaintext``.

    Complexity: O(n) per encode/decode, O(k n) to aggregate k payloads.
    """

    @property
    def scheme(self) -> str:
        """Scheme name recorded in reports: ``insecure-plaintext``."""
        return PLAINTEXT_SCHEME

    def encode(self, values: np.ndarray, weight: int) -> Payload:
        """Return ``weight * values`` in the clear."""
        vec = np.asarray(values, dtype=np.float64)
        if vec.ndim != 1:
            raise CodecError(f"values must be 1-D; got shape {vec.shape}")
        if not np.all(np.isfinite(vec)):
            raise CodecError("values must be finite; got NaN or infinity")
        if weight < 0:
            raise CodecError(f"weight must be >= 0; got {weight}")
        return Payload(
            arrays={"values": vec * float(weight), "weight": np.array([float(weight)])},
            meta={"scheme": self.scheme, "length": int(vec.size), "members": 1},
        )

    def aggregate(self, payloads: Sequence[Payload]) -> Payload:
        """Sum the payloads element-wise."""
        length = check_same_length(payloads, self.scheme)
        values = np.zeros(length, dtype=np.float64)
        weight = 0.0
        for i, p in enumerate(payloads):
            v = np.asarray(p.arrays["values"], dtype=np.float64)
            if v.shape != (length,):
                raise CodecError(f"payload {i} has {v.size} values; meta says {length}")
            values += v
            weight += float(np.asarray(p.arrays["weight"]).sum())
        return Payload(
            arrays={"values": values, "weight": np.array([weight])},
            meta={
                "scheme": self.scheme,
                "length": length,
                "members": sum(p.members for p in payloads),
            },
        )

    def decode(self, aggregate: Payload) -> Decoded:
        """Read the sum back."""
        if aggregate.scheme != self.scheme:
            raise CodecError(f"cannot decode scheme {aggregate.scheme!r} with {self.scheme!r}")
        return Decoded(
            values=np.asarray(aggregate.arrays["values"], dtype=np.float64),
            weight=float(np.asarray(aggregate.arrays["weight"]).sum()),
            members=aggregate.members,
        )
