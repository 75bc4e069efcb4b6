"""The run store: runs, rounds, participation and the aggregate checkpoints (SQLite, WAL).

Everything stored here is either an aggregate (a sum of member payloads, ciphertext under the
encrypted codec) or metadata; no member's individual update is ever written. Each round's
checkpoint is written in one transaction together with its participation record, so a round
is either fully recorded or not at all, and a SHA-256 checksum of the checkpoint bytes is
verified on every read: a corrupted file is reported, never loaded silently.

Payload arrays are serialised with ``numpy.save`` without pickling (``allow_pickle=False``).
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from privacy import Payload

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    started_at  REAL NOT NULL,
    finished_at REAL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    config_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id      TEXT NOT NULL REFERENCES runs(run_id),
    round       INTEGER NOT NULL,
    phase       TEXT NOT NULL CHECK (phase IN ('train', 'evaluate')),
    created_at  REAL NOT NULL,
    seconds     REAL NOT NULL,
    meta_json   TEXT NOT NULL,
    members_json TEXT NOT NULL,
    failed_json TEXT NOT NULL,
    bytes_up    INTEGER NOT NULL,
    blob        BLOB NOT NULL,
    sha256      TEXT NOT NULL,
    attestation_json TEXT,
    PRIMARY KEY (run_id, round, phase)
);
"""


def _digest(blob: bytes, attestation: str | None) -> str:
    """SHA-256 over the checkpoint bytes and its attestation record."""
    h = hashlib.sha256(blob)
    if attestation is not None:
        h.update(attestation.encode())
    return h.hexdigest()


class RunStoreError(RuntimeError):
    """The run store is unreadable, inconsistent or corrupted."""


@dataclass(frozen=True)
class Checkpoint:
    """One stored aggregate with its participation record."""

    run_id: str
    round: int
    phase: str
    payload: Payload
    members: tuple[str, ...]
    failed: tuple[str, ...]
    bytes_up: int
    seconds: float
    attestation: Mapping[str, Any] | None = None


def payload_to_bytes(payload: Payload) -> bytes:
    """Serialise a payload's arrays (numeric dtypes only) into one ``.npz`` blob."""
    buf = io.BytesIO()
    arrays = {k: np.asarray(v) for k, v in payload.arrays.items()}
    for name, arr in arrays.items():
        if arr.dtype == object:
            raise RunStoreError(f"payload array {name!r} has dtype object; refusing to pickle")
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def payload_from_bytes(blob: bytes, meta: Mapping[str, int | float | str]) -> Payload:
    """Inverse of :func:`payload_to_bytes`."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return Payload(arrays=arrays, meta=dict(meta))


class RunStore:
    """SQLite-backed store of runs and round checkpoints.

    Parameters
    ----------
    path
        Database file; created (with parent folders) when missing.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise RunStoreError(f"{self.path}: not a readable run store ({exc})") from exc

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # ------------------------------------------------------------------ runs
    def start_run(self, run_id: str, config: Mapping[str, object]) -> None:
        """Record a new run (or mark an existing one running again, for a resume)."""
        with self._transaction() as c:
            c.execute(
                "INSERT INTO runs(run_id, started_at, status, config_json) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(run_id) DO UPDATE SET status='running', reason=''",
                (
                    run_id,
                    time.time(),
                    "running",
                    json.dumps(dict(config), sort_keys=True, default=str),
                ),
            )

    def finish_run(self, run_id: str, status: str, reason: str = "") -> None:
        """Mark a run ``completed``, ``stalled`` or ``failed`` with a reason."""
        if status not in ("completed", "stalled", "failed"):
            raise ValueError(f"run status must be completed|stalled|failed; got {status!r}")
        with self._transaction() as c:
            c.execute(
                "UPDATE runs SET status=?, reason=?, finished_at=? WHERE run_id=?",
                (status, reason, time.time(), run_id),
            )

    def run(self, run_id: str) -> dict[str, object]:
        """The run's row as a dict (``config`` decoded)."""
        row = self._conn.execute(
            "SELECT run_id, started_at, finished_at, status, reason, config_json FROM runs "
            "WHERE run_id=?",
            (run_id,),
        ).fetchone()
        if row is None:
            raise RunStoreError(f"{self.path}: no run {run_id!r}")
        return {
            "run_id": row[0],
            "started_at": row[1],
            "finished_at": row[2],
            "status": row[3],
            "reason": row[4],
            "config": json.loads(row[5]),
        }

    # ----------------------------------------------------------- checkpoints
    def save_checkpoint(self, cp: Checkpoint) -> None:
        """Write one round's aggregate and participation atomically."""
        blob = payload_to_bytes(cp.payload)
        attestation = None if cp.attestation is None else json.dumps(cp.attestation, sort_keys=True)
        digest = _digest(blob, attestation)
        with self._transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO checkpoints(run_id, round, phase, created_at, seconds, "
                "meta_json, members_json, failed_json, bytes_up, blob, sha256, attestation_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cp.run_id,
                    cp.round,
                    cp.phase,
                    time.time(),
                    cp.seconds,
                    json.dumps(dict(cp.payload.meta), sort_keys=True),
                    json.dumps(list(cp.members)),
                    json.dumps(list(cp.failed)),
                    cp.bytes_up,
                    blob,
                    digest,
                    attestation,
                ),
            )

    def checkpoints(self, run_id: str, phase: str) -> list[Checkpoint]:
        """All checkpoints of ``phase`` for a run, by round; each checksum is verified."""
        rows = self._conn.execute(
            "SELECT round, seconds, meta_json, members_json, failed_json, bytes_up, blob, sha256, "
            "attestation_json FROM checkpoints WHERE run_id=? AND phase=? ORDER BY round",
            (run_id, phase),
        ).fetchall()
        out = []
        for rnd, secs, meta, members, failed, nbytes, blob, digest, attestation in rows:
            if _digest(blob, attestation) != digest:
                raise RunStoreError(
                    f"{self.path}: checkpoint of run {run_id!r} round {rnd} ({phase}) fails its "
                    "SHA-256 checksum; refusing to load a corrupted aggregate"
                )
            out.append(
                Checkpoint(
                    run_id=run_id,
                    round=int(rnd),
                    phase=phase,
                    payload=payload_from_bytes(blob, json.loads(meta)),
                    members=tuple(json.loads(members)),
                    failed=tuple(json.loads(failed)),
                    bytes_up=int(nbytes),
                    seconds=float(secs),
                    attestation=None if attestation is None else json.loads(attestation),
                )
            )
        return out

    def attestations(self, run_id: str) -> list[dict[str, Any]]:
        """Attestation records of a run's aggregated training rounds, by round (verified)."""
        return [
            dict(cp.attestation)
            for cp in self.checkpoints(run_id, "train")
            if cp.attestation is not None
        ]

    def last_checkpoint(self, run_id: str, phase: str = "train") -> Checkpoint | None:
        """The most recent complete checkpoint, or ``None`` before round 1."""
        cps = self.checkpoints(run_id, phase)
        return cps[-1] if cps else None
