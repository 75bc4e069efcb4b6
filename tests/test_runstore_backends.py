"""Run store on both backends: SQLite (default) and PostgreSQL (a throwaway real server).

The PostgreSQL server is Debian's ``initdb``/``pg_ctl`` started in a temporary folder on a free
127.0.0.1 port, with a password (SCRAM) for TCP connections; as root it runs as the
``postgres`` user. CI installs the ``postgresql`` package when ``initdb`` is missing
(``.ci/run``); a missing server FAILS these tests, it never skips them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from coordinator.state import Checkpoint, Participation, RunStore, RunStoreError
from privacy import InsecurePlaintextCodec
from simulations.loopback import free_port

PG_BINS = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin"), Path("/usr/bin"))
PASSWORD = "Pg-s3cret-for-tests-7d1f"


def _pg_bin(name: str) -> str:
    for d in (*PG_BINS, *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)):
        if (d / name).is_file():
            return str(d / name)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"PostgreSQL's {name} not found (CI installs the postgresql package)")
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    base = Path(tempfile.mkdtemp(prefix="fedcredit-pg-", dir="/tmp"))
    base.chmod(0o755)
    data, pwfile = base / "data", base / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(pwfile, "postgres")
    port = free_port()
    run = lambda cmd: subprocess.run(  # noqa: E731
        _as_postgres(cmd), capture_output=True, text=True, timeout=120, check=True
    )
    try:
        run([_pg_bin("initdb"), "-D", str(data), "-U", "assoc", f"--pwfile={pwfile}",
             "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8"])  # fmt: skip
        run([_pg_bin("pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60",
             "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"])  # fmt: skip
        run(["psql" if shutil.which("psql") else _pg_bin("psql"), "-h", str(base), "-p",
             str(port), "-U", "assoc", "-d", "postgres", "-c", "CREATE DATABASE runs"])  # fmt: skip
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"throwaway PostgreSQL did not start: {exc.stderr or exc.stdout}")
    try:
        yield f"postgresql://assoc:{PASSWORD}@127.0.0.1:{port}/runs"
    finally:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty run store target on each backend."""
    if request.param == "sqlite":
        yield str(tmp_path / "runstore.sqlite")
        return
    url: str = request.getfixturevalue("postgres_url")
    with RunStore(url) as store:  # empty it for this test
        store._db.script(
            "DELETE FROM round_metrics; DELETE FROM participation; DELETE FROM checkpoints; "
            "DELETE FROM runs"
        )
    yield url


def _cp(run: str, rnd: int, value: float, part: tuple[Participation, ...] = ()) -> Checkpoint:
    payload = InsecurePlaintextCodec().encode(np.array([value, 2 * value]), weight=2)
    return Checkpoint(
        run_id=run, round=rnd, phase="train", payload=payload, members=("m1", "m2"),
        failed=("m3: timeout",), bytes_up=payload.nbytes(), seconds=0.5,
        attestation={"round": rnd, "scheme": "plaintext"},
        participation=part or (Participation("m1", "took_part"), Participation("m2", "took_part"),
                               Participation("m3", "dropped", "no reply")),
        metrics={"members": 2.0, "seconds": 0.5},
    )  # fmt: skip


def test_round_is_recorded_with_participation_metrics_and_attestation(store_target: str) -> None:
    # Prepare / Execute
    with RunStore(store_target) as store:
        store.start_run("r1", {"rounds": 3})
        store.save_checkpoint(_cp("r1", 1, 1.0))
        store.save_checkpoint(_cp("r1", 2, 3.0))
        store.record_round_failure("r1", 3, "train", [Participation("m1", "refused", "budget")])
        store.finish_run("r1", "stalled", "round 3: 0 valid replies")
    # Assert: everything reads back from a new connection
    with RunStore(store_target) as store:
        last = store.last_checkpoint("r1")
        assert last is not None and last.round == 2
        assert last.payload.arrays["values"].tolist() == [6.0, 12.0]
        assert store.attestations("r1") == [
            {"round": 1, "scheme": "plaintext"},
            {"round": 2, "scheme": "plaintext"},
        ]
        rows = store.participation("r1")
        assert [(r["round"], r["member"], r["status"]) for r in rows] == [
            (1, "m1", "took_part"), (1, "m2", "took_part"), (1, "m3", "dropped"),
            (2, "m1", "took_part"), (2, "m2", "took_part"), (2, "m3", "dropped"),
            (3, "m1", "refused"),
        ]  # fmt: skip
        assert store.metrics("r1")[2] == {"members": 2.0, "seconds": 0.5}
        assert store.resume_round("r1") == 3
        assert store.run("r1")["status"] == "stalled"
        assert [r["run_id"] for r in store.runs()] == ["r1"]


def test_a_round_is_all_or_nothing(store_target: str) -> None:
    # a duplicate member row violates the participation key inside the round's transaction
    dup = (Participation("m1", "took_part"), Participation("m1", "took_part"))
    with RunStore(store_target) as store:
        store.start_run("r1", {})
        store.save_checkpoint(_cp("r1", 1, 1.0))
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            store.save_checkpoint(_cp("r1", 2, 5.0, dup))
        assert [c.round for c in store.checkpoints("r1", "train")] == [1]
        assert {r["round"] for r in store.participation("r1")} == {1}
        assert store.resume_round("r1") == 2


def test_corrupted_checkpoint_is_refused(store_target: str) -> None:
    with RunStore(store_target) as store:
        store.start_run("r1", {})
        store.save_checkpoint(_cp("r1", 1, 1.0))
        store._db.execute("UPDATE checkpoints SET attestation_json=? WHERE round=1",
                          ('{"round": 1, "scheme": "paillier-packed"}',))  # fmt: skip
        with pytest.raises(RunStoreError, match="SHA-256 checksum"):
            store.checkpoints("r1", "train")


def test_bad_statuses_are_refused() -> None:
    with pytest.raises(ValueError, match="participation status must be one of"):
        Participation("m1", "vanished")


def test_postgres_password_never_in_errors_or_descriptions(postgres_url: str) -> None:
    with RunStore(postgres_url) as store:
        assert PASSWORD not in store.where and "***" in store.where
    wrong = postgres_url.replace(PASSWORD, PASSWORD + "-wrong")
    with pytest.raises(RunStoreError) as info:
        RunStore(wrong)
    assert PASSWORD not in str(info.value)
    assert "cannot connect to the PostgreSQL run store" in str(info.value)
