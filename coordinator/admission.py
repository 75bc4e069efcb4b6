"""Admission of one member reply into a round's sum (pure checks, no Flower, no I/O).

A reply is admitted only when all of these hold, checked cheapest first:

1. **size** — the reply's arrays total at most ``max_reply_bytes`` (an oversized message is
   refused before any parsing);
2. **freshness** — it echoes this run's id, this round's number and this round's nonce (a random
   value the coordinator sends with each round's messages): a reply replayed from an earlier
   round, or a straggler's late reply, carries another round or nonce and is refused;
3. **codec** — the codec validates the payload alone: scheme, key fingerprint, layout, number of
   ciphertexts, every ciphertext in range (``0 < c < n^2``, coprime to ``n``), member count.

A refused reply raises :class:`Rejected` whose message names the rule; the strategy logs it
with the member id and the round goes on without that reply.

Example
-------
>>> from privacy import InsecurePlaintextCodec
>>> import numpy as np
>>> codec = InsecurePlaintextCodec()
>>> p = codec.encode(np.array([1.0, 2.0]), weight=1)
>>> want = Expected(run_id="r1", server_round=2, nonce="ab", max_reply_bytes=10_000)
>>> admit(p, {"run-id": "r1", "server-round": 2, "round-nonce": "ab"}, 16, codec, want)
>>> try:
...     admit(p, {"run-id": "r1", "server-round": 1, "round-nonce": "x"}, 16, codec, want)
... except Rejected as exc:
...     print(str(exc)[:38])
replayed or stale reply: it answers ru

Complexity: O(ciphertexts) for the range checks; everything else O(1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from privacy import CodecError, Payload, UpdateCodec

ECHO_KEYS: tuple[str, ...] = ("run-id", "server-round", "round-nonce")


class Rejected(ValueError):
    """A member reply that must not enter the round's sum; the message names the rule."""


@dataclass(frozen=True)
class Expected:
    """What a reply of the current round must match."""

    run_id: str
    server_round: int
    nonce: str
    max_reply_bytes: int

    def __post_init__(self) -> None:
        if self.max_reply_bytes < 1:
            raise ValueError(f"max-reply-bytes must be >= 1; got {self.max_reply_bytes}")


def admit(
    payload: Payload,
    echo: Mapping[str, object],
    nbytes: int,
    codec: UpdateCodec,
    expected: Expected,
) -> None:
    """Raise :class:`Rejected` unless ``payload`` may be added to this round's sum.

    Parameters
    ----------
    payload
        The member's payload as received.
    echo
        The reply's ``run-id``, ``server-round`` and ``round-nonce`` as the member echoed them.
    nbytes
        Size of the reply's arrays in bytes.
    codec
        The phase's aggregation codec (validates key, layout, count and range).
    expected
        This round's identity and the size limit.
    """
    if nbytes > expected.max_reply_bytes:
        raise Rejected(
            f"oversized reply: {nbytes} bytes > max-reply-bytes={expected.max_reply_bytes}"
        )
    run_id = str(echo.get("run-id", ""))
    try:
        server_round = int(str(echo.get("server-round", "-1")))
    except ValueError:
        server_round = -1
    nonce = str(echo.get("round-nonce", ""))
    if (run_id, server_round, nonce) != (expected.run_id, expected.server_round, expected.nonce):
        raise Rejected(
            f"replayed or stale reply: it answers run {run_id!r} round {server_round}, not run "
            f"{expected.run_id!r} round {expected.server_round}"
            + (" (nonce mismatch)" if nonce != expected.nonce else "")
        )
    if payload.scheme != codec.scheme:
        raise Rejected(f"scheme {payload.scheme!r} but this run aggregates {codec.scheme!r}")
    try:
        codec.aggregate([payload])
    except CodecError as exc:
        raise Rejected(str(exc)) from None
