"""The member's record of the exact update it released for each (data, run, round, input).

Why: a coordinator restarted mid-run asks again for a round it never aggregated. The member
has already charged its ledger for that round. Training again would draw *fresh* DP noise and
release a second, different noisy update under one charge — an under-count if both replies were
ever combined (for instance by a coordinator that colludes with a key holder, a named weakness
of the trust model). Instead the member re-sends the *same* noisy parameters: a repeated release
of one DP output is post-processing and costs nothing more.

Order in a round (``participant_node.client_app``)::

    charge ledger  ->  DP-SGD  ->  ReplyCache.put  ->  encode + encrypt  ->  reply

so a cached entry exists for every update that may have left the member; a charge without a
cached entry means the earlier attempt crashed before sending, and training again under that
charge releases only one update. The entry is keyed by the SHA-256 of the incoming aggregate as
well: a round asked again with a *different* starting model is a new release and is charged
normally (over-count allowed, under-count never).

Entries are ``.npz`` files (no pickling) written atomically (temporary file, fsync, rename) in a
folder next to the ledger, readable only by the member (mode 0600).

Example
-------
>>> import tempfile, numpy as np
>>> cache = ReplyCache(Path(tempfile.mkdtemp()))
>>> key = cache.key("sha256:ab", "run1", 3, b"aggregate bytes")
>>> cache.get(key) is None
True
>>> cache.put(key, CachedReply(np.arange(3, dtype=np.float32), 0.5, {"epsilon": 1.2}))
>>> cache.get(key).params.tolist(), cache.get(key).privacy["epsilon"]
([0.0, 1.0, 2.0], 1.2)
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class CachedReply:
    """One released update: the noisy parameters, the local loss and the privacy report."""

    params: np.ndarray
    loss: float
    privacy: Mapping[str, float]


class ReplyCache:
    """Released updates of one member, one file per (dataset, run, round, incoming aggregate)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @classmethod
    def beside(cls, ledger: Path) -> ReplyCache:
        """The cache that belongs to the ledger file ``ledger`` (``<ledger>.replies/``)."""
        return cls(ledger.with_name(ledger.name + ".replies"))

    @staticmethod
    def key(dataset: str, run_id: str, server_round: int, incoming: bytes) -> str:
        """File key: SHA-256 over the dataset fingerprint, run, round and aggregate digest."""
        h = hashlib.sha256()
        for part in (dataset, run_id, str(server_round)):
            h.update(part.encode())
            h.update(b"\x00")
        h.update(hashlib.sha256(incoming).digest())
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"reply cache key must be 64 hex digits; got {key!r}")
        return self.directory / f"{key}.npz"

    def get(self, key: str) -> CachedReply | None:
        """The cached reply for ``key``, or ``None``."""
        path = self._path(key)
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            return CachedReply(np.array(z["params"]), float(meta["loss"]), meta["privacy"])

    def put(self, key: str, reply: CachedReply) -> None:
        """Write ``reply`` under ``key`` atomically (durable before the reply is sent)."""
        path = self._path(key)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        meta = json.dumps({"loss": reply.loss, "privacy": dict(reply.privacy)}).encode()
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, params=np.asarray(reply.params), meta=np.frombuffer(meta, np.uint8))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def payload_digest_bytes(arrays: Mapping[str, np.ndarray] | None) -> bytes:
    """Canonical bytes of an incoming aggregate (names, dtypes, shapes, contents)."""
    if not arrays:
        return b"round-1-seed"
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.digest()
