"""The run store: runs, rounds, participation, checkpoints, attestations and metrics.

SQLite by default (one file, WAL mode); the same schema on PostgreSQL when the store is named by
a URL ``postgresql://USER@HOST:PORT/DB`` (see ``coordinator.store_sql``).

Everything stored here is either an aggregate (a sum of member payloads, ciphertext under the
encrypted codec) or metadata; no member's individual update is ever written. Each round's
checkpoint is written in one transaction together with its participation record (who took part,
refused, dropped or was rejected, with reasons), its attestation and its federated metrics, so a
round is either fully recorded or not at all. A SHA-256 checksum over the checkpoint bytes and
its attestation is verified on every read: a corrupted store is reported, never loaded silently.

Resume: the first round still to run is the last recorded training round + 1
(:meth:`RunStore.resume_round`); a restarted coordinator starts there, so no round is lost and
none is applied twice.

Payload arrays are serialised with ``numpy.save`` without pickling (``allow_pickle=False``).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from coordinator.store_sql import SqlConnection, StoreConnectionError
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
CREATE TABLE IF NOT EXISTS participation (
    run_id      TEXT NOT NULL REFERENCES runs(run_id),
    round       INTEGER NOT NULL,
    phase       TEXT NOT NULL,
    member      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('took_part', 'refused', 'dropped', 'rejected')),
    reason      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, round, phase, member)
);
CREATE TABLE IF NOT EXISTS round_metrics (
    run_id      TEXT NOT NULL REFERENCES runs(run_id),
    round       INTEGER NOT NULL,
    phase       TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       REAL NOT NULL,
    PRIMARY KEY (run_id, round, phase, name)
);
"""
RUN_STATUSES = ("completed", "stalled", "failed")
PARTICIPATION_STATUSES = ("took_part", "refused", "dropped", "rejected")


def _digest(blob: bytes, attestation: str | None) -> str:
    """SHA-256 over the checkpoint bytes and its attestation record."""
    h = hashlib.sha256(blob)
    if attestation is not None:
        h.update(attestation.encode())
    return h.hexdigest()


class RunStoreError(RuntimeError):
    """The run store is unreadable, inconsistent or corrupted."""


@dataclass(frozen=True)
class Participation:
    """What one member did in one phase of one round."""

    member: str
    status: str
    reason: str = ""

    def __post_init__(self) -> None:
        if self.status not in PARTICIPATION_STATUSES:
            raise ValueError(
                f"participation status must be one of {PARTICIPATION_STATUSES}; got {self.status!r}"
            )


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
    participation: tuple[Participation, ...] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)


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
    """SQL-backed store of runs, rounds and checkpoints (SQLite file or PostgreSQL URL).

    Parameters
    ----------
    path
        SQLite file (created with parent folders when missing) or ``postgresql://...`` URL.
    """

    def __init__(self, path: str | Path) -> None:
        self.path: str | Path = path if "://" in str(path) else Path(path)
        try:
            self._db = SqlConnection(path)
        except StoreConnectionError as exc:
            raise RunStoreError(str(exc)) from None
        self.where = self._db.where
        try:
            with self._db.transaction() as db:
                db.script(SCHEMA)
        except self._db.errors as exc:
            self._db.close()
            raise RunStoreError(f"{self.where}: not a readable run store ({exc})") from exc

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.query(sql, params)
        except self._db.errors as exc:
            raise RunStoreError(f"{self.where}: unreadable run store ({exc})") from exc

    # ------------------------------------------------------------------ runs
    def start_run(self, run_id: str, config: Mapping[str, object]) -> None:
        """Record a new run (or mark an existing one running again, for a resume)."""
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO runs(run_id, started_at, status, config_json) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(run_id) DO UPDATE SET status='running', reason='', finished_at=NULL",
                (
                    run_id,
                    time.time(),
                    "running",
                    json.dumps(dict(config), sort_keys=True, default=str),
                ),
            )

    def finish_run(self, run_id: str, status: str, reason: str = "") -> None:
        """Mark a run ``completed``, ``stalled`` or ``failed`` with a reason."""
        if status not in RUN_STATUSES:
            raise ValueError(f"run status must be completed|stalled|failed; got {status!r}")
        with self._db.transaction() as db:
            db.execute(
                "UPDATE runs SET status=?, reason=?, finished_at=? WHERE run_id=?",
                (status, reason, time.time(), run_id),
            )

    def run(self, run_id: str) -> dict[str, object]:
        """The run's row as a dict (``config`` decoded)."""
        rows = self._rows(
            "SELECT run_id, started_at, finished_at, status, reason, config_json FROM runs "
            "WHERE run_id=?",
            (run_id,),
        )
        if not rows:
            raise RunStoreError(f"{self.where}: no run {run_id!r}")
        row = rows[0]
        return {
            "run_id": row[0],
            "started_at": row[1],
            "finished_at": row[2],
            "status": row[3],
            "reason": row[4],
            "config": json.loads(row[5]),
        }

    def runs(self) -> list[dict[str, object]]:
        """Every run, oldest first (``config`` decoded)."""
        ids = self._rows("SELECT run_id FROM runs ORDER BY started_at, run_id")
        return [self.run(str(r[0])) for r in ids]

    def resume_round(self, run_id: str) -> int:
        """The first round still to run: last recorded training round + 1 (1 when none)."""
        rows = self._rows(
            "SELECT MAX(round) FROM checkpoints WHERE run_id=? AND phase='train'", (run_id,)
        )
        last = rows[0][0] if rows else None
        return 1 if last is None else int(last) + 1

    # ----------------------------------------------------------- checkpoints
    def save_checkpoint(self, cp: Checkpoint) -> None:
        """Write one round's aggregate, participation, attestation and metrics atomically."""
        blob = payload_to_bytes(cp.payload)
        attestation = None if cp.attestation is None else json.dumps(cp.attestation, sort_keys=True)
        digest = _digest(blob, attestation)
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO checkpoints(run_id, round, phase, created_at, seconds, "
                "meta_json, members_json, failed_json, bytes_up, blob, sha256, attestation_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(run_id, round, phase) DO UPDATE SET created_at=excluded.created_at, "
                "seconds=excluded.seconds, meta_json=excluded.meta_json, "
                "members_json=excluded.members_json, failed_json=excluded.failed_json, "
                "bytes_up=excluded.bytes_up, blob=excluded.blob, sha256=excluded.sha256, "
                "attestation_json=excluded.attestation_json",
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
            self._write_round(db, cp.run_id, cp.round, cp.phase, cp.participation, cp.metrics)

    def record_round_failure(
        self,
        run_id: str,
        server_round: int,
        phase: str,
        participation: Sequence[Participation],
    ) -> None:
        """Record who did what in a round that was not aggregated (no checkpoint written)."""
        with self._db.transaction() as db:
            self._write_round(db, run_id, server_round, phase, participation, {})

    @staticmethod
    def _write_round(
        db: SqlConnection,
        run_id: str,
        server_round: int,
        phase: str,
        participation: Sequence[Participation],
        metrics: Mapping[str, float],
    ) -> None:
        key = (run_id, server_round, phase)
        db.execute("DELETE FROM participation WHERE run_id=? AND round=? AND phase=?", key)
        db.execute("DELETE FROM round_metrics WHERE run_id=? AND round=? AND phase=?", key)
        for p in participation:
            db.execute(
                "INSERT INTO participation(run_id, round, phase, member, status, reason) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (*key, p.member, p.status, p.reason),
            )
        for name, value in sorted(metrics.items()):
            db.execute(
                "INSERT INTO round_metrics(run_id, round, phase, name, value) "
                "VALUES (?, ?, ?, ?, ?)",
                (*key, name, float(value)),
            )

    def participation(self, run_id: str, phase: str = "train") -> list[dict[str, object]]:
        """Participation rows of a run's ``phase``, by round then member."""
        rows = self._rows(
            "SELECT round, member, status, reason FROM participation "
            "WHERE run_id=? AND phase=? ORDER BY round, member",
            (run_id, phase),
        )
        return [{"round": int(r[0]), "member": r[1], "status": r[2], "reason": r[3]} for r in rows]

    def metrics(self, run_id: str, phase: str = "train") -> dict[int, dict[str, float]]:
        """Federated metrics recorded per round: ``{round: {name: value}}``."""
        out: dict[int, dict[str, float]] = {}
        for rnd, name, value in self._rows(
            "SELECT round, name, value FROM round_metrics WHERE run_id=? AND phase=? "
            "ORDER BY round, name",
            (run_id, phase),
        ):
            out.setdefault(int(rnd), {})[str(name)] = float(value)
        return out

    def checkpoints(self, run_id: str, phase: str) -> list[Checkpoint]:
        """All checkpoints of ``phase`` for a run, by round; each checksum is verified."""
        rows = self._rows(
            "SELECT round, seconds, meta_json, members_json, failed_json, bytes_up, blob, sha256, "
            "attestation_json FROM checkpoints WHERE run_id=? AND phase=? ORDER BY round",
            (run_id, phase),
        )
        out = []
        for rnd, secs, meta, members, failed, nbytes, blob, digest, attestation in rows:
            if _digest(bytes(blob), attestation) != digest:
                raise RunStoreError(
                    f"{self.where}: checkpoint of run {run_id!r} round {rnd} ({phase}) fails its "
                    "SHA-256 checksum; refusing to load a corrupted aggregate"
                )
            try:
                payload = payload_from_bytes(bytes(blob), json.loads(meta))
                decoded = (
                    tuple(json.loads(members)),
                    tuple(json.loads(failed)),
                    None if attestation is None else json.loads(attestation),
                )
            except (ValueError, OSError) as exc:
                raise RunStoreError(
                    f"{self.where}: checkpoint of run {run_id!r} round {rnd} ({phase}) is "
                    f"malformed ({exc})"
                ) from exc
            out.append(
                Checkpoint(
                    run_id=run_id,
                    round=int(rnd),
                    phase=phase,
                    payload=payload,
                    members=decoded[0],
                    failed=decoded[1],
                    bytes_up=int(nbytes),
                    seconds=float(secs),
                    attestation=decoded[2],
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
