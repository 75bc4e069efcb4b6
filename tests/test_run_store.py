"""Run store: atomic round checkpoints with checksums."""

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from coordinator.state import Checkpoint, RunStore, RunStoreError
from privacy import InsecurePlaintextCodec


def _cp(run: str, rnd: int, value: float) -> Checkpoint:
    payload = InsecurePlaintextCodec().encode(np.array([value, 2 * value]), weight=2)
    return Checkpoint(
        run_id=run,
        round=rnd,
        phase="train",
        payload=payload,
        members=("m1",),
        failed=("m2: timeout",),
        bytes_up=payload.nbytes(),
        seconds=0.1,
    )


def test_checkpoint_roundtrip_and_last(tmp_path: Path) -> None:
    with RunStore(tmp_path / "s.sqlite") as store:
        store.start_run("r1", {"rounds": 2})
        store.save_checkpoint(_cp("r1", 1, 1.0))
        store.save_checkpoint(_cp("r1", 2, 3.0))
        store.finish_run("r1", "completed")
    with RunStore(tmp_path / "s.sqlite") as store:  # survives reopen
        last = store.last_checkpoint("r1")
        assert last is not None and last.round == 2
        assert last.payload.arrays["values"].tolist() == [6.0, 12.0]
        assert last.failed == ("m2: timeout",)
        assert store.run("r1")["status"] == "completed"


def test_corrupted_checkpoint_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with RunStore(path) as store:
        store.start_run("r1", {})
        store.save_checkpoint(_cp("r1", 1, 1.0))
    with sqlite3.connect(path) as conn:  # flip bytes behind the store's back
        blob = bytearray(conn.execute("SELECT blob FROM checkpoints").fetchone()[0])
        blob[-5] ^= 0xFF
        conn.execute("UPDATE checkpoints SET blob=?", (bytes(blob),))
    with RunStore(path) as store, pytest.raises(RunStoreError, match="SHA-256"):
        store.last_checkpoint("r1")


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RunStoreError, match="not a readable run store"):
        RunStore(path)


def test_bad_status_is_refused(tmp_path: Path) -> None:
    with RunStore(tmp_path / "s.sqlite") as store:
        store.start_run("r1", {})
        with pytest.raises(ValueError, match="completed\\|stalled\\|failed"):
            store.finish_run("r1", "done")
