"""Process-level deployment faults: a member SIGKILLed mid-round, the coordinator SIGKILLed
mid-run and restarted (resume), and too few members (stalled run).

Real ``fedcredit coordinator start`` / ``fedcredit node start`` processes (flower-superlink and
flower-supernode, TLS + SuperNode authentication) on free 127.0.0.1 ports; 2048-bit Paillier
keys (the smallest the key loader accepts) and a tiny logistic model keep it short. Member m3
runs the test ClientApp ``deploy_hostile_app.py`` with a one-off 30 s delay in round 2 (honest
reply, just late), which holds round 2 open long enough to kill the coordinator after every
member has charged its ledger for round 2 but before round 2 is aggregated.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from coordinator.deploy.link import submit_run, wait_run
from coordinator.state import RunStore
from privacy.ledger import BudgetLedger, dataset_fingerprint
from simulations.loopback import Loopback, setup_loopback, toy_credit_frame

HOSTILE_APP = Path(__file__).with_name("deploy_hostile_app.py")


def _charges(lb: Loopback, member: str, run_id: str) -> list[int]:
    """Rounds of ``run_id`` charged in ``member``'s ledger (one entry per charge)."""
    d = lb.member_dir(member)
    if not (d / "ledger.sqlite").exists():
        return []
    try:
        history = BudgetLedger(d / "ledger.sqlite").history(dataset_fingerprint(d / "data.csv"))
    except KeyError:
        return []
    return [c.round for c in history if c.run_id == run_id]


def _train_messages(lb: Loopback, member: str) -> dict[int, int]:
    """Train messages ``member``'s SuperNode received, per Flower run id (from its own log:
    Flower logs ``[RUN <id>...]`` right before each ``Receiving: train message``)."""
    counts: dict[int, int] = {}
    run: int | None = None
    for line in lb.log(member).read_text(errors="replace").splitlines():
        if (m := re.search(r"\[RUN (\d+)", line)) is not None:
            run = int(m.group(1))
        elif "Receiving: train message" in line and run is not None:
            counts[run] = counts.get(run, 0) + 1
    return counts


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def _config(lb: Loopback, run_id: str, **over: object) -> dict[str, str | int | float | bool]:
    rc: dict[str, str | int | float | bool] = {
        "num-server-rounds": 3, "min-members": 2, "round-timeout": 90.0, "model": "logistic",
        "batch-size": 64, "epsilon": 3.0, "evaluate": False, "run-id": run_id,
        "run-store": lb.home.run_store(), "public-key": str(lb.home.public_key),
        "members-file": str(lb.home.members_file), "transport": "tls",
    }  # fmt: skip
    rc.update(over)  # type: ignore[arg-type]
    return rc


@dataclass(frozen=True)
class Faults:
    """The loopback deployment and the Flower run ids of the faults run's two submissions."""

    lb: Loopback
    killed_run: int  # submitted before the coordinator was killed
    resumed_run: int  # submitted after its restart


def _submit(lb: Loopback, rc: dict[str, str | int | float | bool]) -> int:
    return submit_run(lb.home, rc, clientapp="deploy_hostile_app:app", extra_files=[HOSTILE_APP])


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faults]:
    root: Path = tmp_path_factory.mktemp("deploy-faults")
    frames = {m: toy_credit_frame(10 + i) for i, m in enumerate(["m1", "m2", "m3"])}
    lb = setup_loopback(root, frames, label="default", positive="yes", key_bits=2048)
    try:
        lb.start_coordinator()
        lb.start_member("m1")
        lb.start_member("m2")
        lb.start_supernode("m3", {"hostile": "2:slow30", "hostile-dir": str(root / "m3-state")})
        lb.wait_online("m1", "m2", "m3")
        killed_run = _submit(lb, _config(lb, "faults"))
        # a member killed mid-round: m2 has charged round 1 and is training
        _wait(lambda: 1 in _charges(lb, "m2", "faults"), 300, "m2's round-1 charge")
        lb.kill("m2", signal.SIGKILL)
        # the SuperLink marks a silent node offline after 2 missed heartbeats (~60 s); only
        # then can the same key activate again
        time.sleep(65)
        lb.start_member("m2")  # it rejoins for a later round
        lb.wait_online("m2")
        # the coordinator killed mid-run: m1 and m3 charged round 2, m3's reply is 30 s late
        _wait(
            lambda: all(2 in _charges(lb, m, "faults") for m in ("m1", "m3")),
            600,
            "round-2 charges of m1 and m3",
        )
        lb.kill("coordinator", signal.SIGKILL)
        with RunStore(lb.home.run_store()) as store:
            assert store.resume_round("faults") == 2  # round 2 was never aggregated
        time.sleep(35)  # let m3's late round-2 reply go nowhere
        lb.start_coordinator()
        time.sleep(10)  # members reconnect to the restarted SuperLink
        resumed_run = _submit(lb, _config(lb, "faults"))
        run = wait_run(lb.home, "faults", resumed_run, timeout=600)
        assert run["status"] == "completed", run
        # too few members: only m3 left, min-members 3
        lb.kill("m1", signal.SIGKILL)
        lb.kill("m2", signal.SIGKILL)
        rc = _config(lb, "stall", **{"min-members": 3, "round-timeout": 30.0})
        wait_run(lb.home, "stall", _submit(lb, rc), timeout=300)
        yield Faults(lb, killed_run, resumed_run)
    finally:
        lb.close()


def test_killed_member_is_dropped_and_rejoins(faults: Faults) -> None:
    with RunStore(faults.lb.home.run_store()) as store:
        rows = store.participation("faults")
        trains = store.checkpoints("faults", "train")
    first = {r["member"]: r for r in rows if r["round"] == 1}
    assert first["m2"]["status"] == "dropped"
    assert "no reply within round-timeout" in str(first["m2"]["reason"])
    assert sorted(trains[0].members) == ["m1", "m3"]
    assert "m2" in trains[-1].members  # rejoined after its restart (round 3)


def test_coordinator_restart_resumes_without_losing_or_repeating_a_round(
    faults: Faults,
) -> None:
    lb = faults.lb
    with RunStore(lb.home.run_store()) as store:
        trains = store.checkpoints("faults", "train")
        run = store.run("faults")
    assert run["status"] == "completed"
    assert [c.round for c in trains] == [1, 2, 3]  # none lost, none twice
    assert [a["round"] for a in (c.attestation or {} for c in trains)] == [1, 2, 3]
    # round 2 ran twice (before and after the restart) but each ledger charged it once
    for m in ("m1", "m2", "m3"):
        charged = _charges(lb, m, "faults")
        assert sorted(set(charged)) == sorted(charged), (m, charged)
        assert charged.count(3) == 1
    assert _charges(lb, "m1", "faults").count(2) == 1
    assert _charges(lb, "m3", "faults").count(2) == 1
    # resume cost at most one round: m3 trained rounds 1 and 2 in the killed submission and
    # only rounds 2 (again) and 3 in the resumed one; 3 rounds cost 4 trainings, not 5
    # (counted per Flower run, so the later "stall" run's messages are not mixed in)
    per_run = _train_messages(lb, "m3")
    assert per_run.get(faults.killed_run) == 2, per_run
    assert per_run.get(faults.resumed_run) == 2, per_run


def test_too_few_members_stalls_cleanly(faults: Faults) -> None:
    with RunStore(faults.lb.home.run_store()) as store:
        run = store.run("stall")
        assert store.checkpoints("stall", "train") == []
        assert len(store.checkpoints("faults", "train")) == 3  # earlier checkpoints intact
    assert run["status"] == "stalled"
    assert "fewer than min-members=3" in str(run["reason"])
