"""Process-level deployment: hostile and malformed input against real Flower processes.

A real ``fedcredit coordinator start`` (flower-superlink, TLS with the association's CA,
SuperNode authentication on) and real ``fedcredit node start`` members (flower-supernode) on
free 127.0.0.1 ports run one private run (DP-SGD + packed Paillier). Keys are 2048-bit Paillier
(the smallest size the key loader accepts; 3072 is the default) to keep the test short. One
allow-listed member runs a deliberately bad ClientApp (``deploy_hostile_app.py``, shipped in
the run's Flower app) that tampers with its reply in a different way each round; one node whose
key is not on the allow-list tries to join. Each rejection must be recorded with the member id
while the round proceeds with the honest members; no secret may appear in any log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.deploy.link import submit_run, wait_run
from coordinator.state import RunStore
from simulations.loopback import Loopback, setup_loopback, toy_credit_frame

HOSTILE_APP = Path(__file__).with_name("deploy_hostile_app.py")
# two tampering members, so five kinds of bad reply fit in three rounds
PLANS = {"mx": "1:fingerprint,2:range,3:replay", "my": "1:count,2:oversize"}
EXPECTED = {
    ("mx", 1): "encrypted under key",
    ("my", 1): "ciphertexts",
    ("mx", 2): "outside [1, n^2)",
    ("my", 2): "oversized reply",
    ("mx", 3): "replayed or stale reply",
}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Loopback, str]]:
    root = tmp_path_factory.mktemp("deploy-hostile")
    frames = {
        m: toy_credit_frame(i) for i, m in enumerate(["m1", "m2", "m3", "mx", "my", "intruder"])
    }
    lb = setup_loopback(
        root, frames, label="default", positive="yes", key_bits=2048,
        allow=("m1", "m2", "m3", "mx", "my"),
    )  # fmt: skip
    try:
        lb.start_coordinator()
        for m in ("m1", "m2", "m3"):
            lb.start_member(m)
        for m, plan in PLANS.items():
            lb.start_supernode(m, {"hostile": plan, "hostile-dir": str(root / f"state-{m}")})
        lb.start_supernode("intruder", {})
        lb.wait_online("m1", "m2", "m3", "mx", "my")
        run_config = {
            "num-server-rounds": 3, "min-members": 3, "round-timeout": 120.0,
            "model": "logistic", "batch-size": 64, "epsilon": 3.0, "evaluate": False,
            "run-id": "hostile", "run-store": lb.home.run_store(),
            "public-key": str(lb.home.public_key), "members-file": str(lb.home.members_file),
            "max-reply-bytes": 2**20, "transport": "tls",
            "log-file": str(lb.home.logs / "run-hostile.log"),
        }  # fmt: skip
        flower_id = submit_run(
            lb.home, run_config, clientapp="deploy_hostile_app:app", extra_files=[HOSTILE_APP]
        )
        wait_run(lb.home, "hostile", flower_id, timeout=900)
        yield lb, "hostile"
    finally:
        lb.close()


def _participation(lb: Loopback, run_id: str) -> dict[int, dict[str, tuple[str, str]]]:
    with RunStore(lb.home.run_store()) as store:
        rows = store.participation(run_id)
    out: dict[int, dict[str, tuple[str, str]]] = {}
    for r in rows:
        out.setdefault(int(str(r["round"])), {})[str(r["member"])] = (
            str(r["status"]),
            str(r["reason"]),
        )
    return out


def test_every_tampered_reply_is_rejected_and_rounds_go_on(
    hostile_run: tuple[Loopback, str],
) -> None:
    lb, run_id = hostile_run
    with RunStore(lb.home.run_store()) as store:
        run = store.run(run_id)
        trains = store.checkpoints(run_id, "train")
    assert run["status"] == "completed", run["reason"]
    assert [c.round for c in trains] == [1, 2, 3]
    # the honest three are summed every round; my (honest in round 3) joins then
    assert [sorted(c.members) for c in trains] == [["m1", "m2", "m3"]] * 2 + [
        ["m1", "m2", "m3", "my"]
    ]
    part = _participation(lb, run_id)
    for (member, rnd), needle in EXPECTED.items():
        status, reason = part[rnd][member]
        assert status == "rejected", (member, rnd, status, reason)
        assert needle in reason, (member, rnd, reason)
        assert all(part[rnd][m][0] == "took_part" for m in ("m1", "m2", "m3"))
    # the coordinator's log names the member with every rejection
    log = (lb.home.logs / "run-hostile.log").read_text(errors="replace")
    assert log.count("rejected reply from mx") == 3
    assert log.count("rejected reply from my") == 2


def test_node_not_on_the_allow_list_cannot_join(hostile_run: tuple[Loopback, str]) -> None:
    lb, run_id = hostile_run
    part = _participation(lb, run_id)
    assert all("intruder" not in members for members in part.values())
    assert all(len(members) == 5 for members in part.values())  # m1..m3, mx, my only
    log = lb.log("coordinator").read_text(errors="replace")
    assert "No SuperNode found with the given public key" in log


def test_no_secret_appears_in_any_log(hostile_run: tuple[Loopback, str]) -> None:
    lb, _ = hostile_run
    secrets = []
    priv = json.loads((lb.root / "ceremony" / "private_key.json").read_text())
    secrets += [str(v) for k, v in priv.items() if k in ("p", "q") and len(str(v)) > 20]
    for m in ("m1", "m2", "m3", "mx", "my"):
        pem = (lb.member_dir(m) / "node" / "supernode_auth_key").read_text().splitlines()
        secrets += [line for line in pem[1:-1] if len(line) > 40][:2]
    tls_key = (lb.home.tls / "server.key").read_text().splitlines()
    secrets += [line for line in tls_key[1:-1] if len(line) > 40]
    assert len(secrets) >= 6
    logs = [p.read_text(errors="replace") for p in lb.root.glob("**/*.log")]
    assert logs and all(len(text) > 0 for text in logs)
    for text in logs:
        for secret in secrets:
            assert secret not in text


def test_start_refuses_without_tls_material_unless_insecure(tmp_path: Path) -> None:
    frames = {"m1": toy_credit_frame(1, 50)}
    lb = setup_loopback(tmp_path, frames, label="default", positive="yes", key_bits=2048)
    (lb.home.tls / "server.key").unlink()
    exe = str(Path(sys.executable).parent / "fedcredit")
    env = dict(os.environ, FLWR_TELEMETRY_ENABLED="0")
    refused = subprocess.run(
        [exe, "coordinator", "start", "--home", str(lb.home.root)],
        capture_output=True, text=True, timeout=600, env=env, check=False,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "refusing to start without TLS" in refused.stdout + refused.stderr
    proc = subprocess.Popen(
        [exe, "coordinator", "start", "--home", str(lb.home.root), "--insecure"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        lines = []
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.append(raw.decode(errors="replace").rstrip())
            if any("Uvicorn running" in line for line in lines) or len(lines) > 60:
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert lines and all(line.startswith("INSECURE (no TLS) | ") for line in lines)
    assert (lb.home.root / "INSECURE").is_file()
