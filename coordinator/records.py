"""Payload <-> Flower record conversion on the coordinator side.

A payload travels in a message's ``RecordDict`` as an ``ArrayRecord`` under ``"arrays"`` and its
scalar metadata as a ``ConfigRecord`` under ``"payload-meta"``.
"""

from __future__ import annotations

from flwr.app import Array, ArrayRecord, ConfigRecord, RecordDict

from privacy import CodecError, Payload

ARRAYS_KEY = "arrays"
META_KEY = "payload-meta"
REFUSAL_KEY = "refusal"


def payload_records(payload: Payload) -> tuple[ArrayRecord, ConfigRecord]:
    """The two records that carry ``payload``."""
    arrays = ArrayRecord({k: Array(v) for k, v in payload.arrays.items()})
    return arrays, ConfigRecord(dict(payload.meta))


def payload_of(content: RecordDict) -> Payload:
    """Read a member's payload out of a reply; raises :class:`CodecError` when malformed."""
    if ARRAYS_KEY not in content.array_records or META_KEY not in content.config_records:
        raise CodecError("reply carries no payload (missing arrays or payload-meta record)")
    arrays = {k: a.numpy() for k, a in content.array_records[ARRAYS_KEY].items()}
    meta = {
        k: v
        for k, v in content.config_records[META_KEY].items()
        if isinstance(v, int | float | str)
    }
    return Payload(arrays=arrays, meta=meta)
