"""One private Ray head per experiment: a real head starts, serves a Ray client, and leaves no
process or folder behind; configured clusters pass through untouched; failures are named."""

import os
import signal
from pathlib import Path

import pytest

from simulations.experiments import ray_runtime
from simulations.experiments.grid import parse_config
from simulations.experiments.ray_runtime import LocalRayHead, experiment_ray


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_local_head_serves_a_client_and_leaves_nothing_behind() -> None:
    # Prepare
    head = LocalRayHead(num_cpus=2)
    # Execute
    address = head.start()
    proc = head._proc
    temp = head._temp
    assert proc is not None and temp is not None
    try:
        import ray

        ray.init(address=address, include_dashboard=False)
        try:
            cpus = ray.cluster_resources().get("CPU")
        finally:
            ray.shutdown()
    finally:
        head.stop()
    # Assert: the head advertised the CPUs it was given; its address file stayed private
    host, _, port = address.rpartition(":")
    assert host and int(port) > 0
    assert cpus == 2.0
    # ... and after stop() nothing of it is left: no process of its group, no folder
    assert not _group_alive(proc.pid)
    assert not temp.exists()
    assert head.address is None
    head.stop()  # idempotent


def test_configured_cluster_or_opt_out_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare: starting a head would fail loudly
    def boom(self: LocalRayHead, timeout_s: float = 0) -> str:
        raise AssertionError("no head may be started")

    monkeypatch.setattr(LocalRayHead, "start", boom)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    cluster = parse_config({"ray": {"address": "10.0.0.1:6379"}})
    opted_out = parse_config({"ray": {"shared_head": False}})
    # Execute / Assert: the same config object comes back
    with experiment_ray(cluster) as live:
        assert live is cluster
    with experiment_ray(opted_out) as live:
        assert live is opted_out and live.ray.init_args(4)["num_cpus"] == 4
    with experiment_ray(parse_config({}), needed=False) as live:
        assert live.ray.address == ""
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    with experiment_ray(parse_config({})) as live:
        assert live.ray.init_args(4) == {"address": "auto", "include_dashboard": False}


def test_cells_get_the_head_address_and_the_head_stops_on_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Prepare: a fake head that records its life
    events: list[str] = []

    def start(self: LocalRayHead, timeout_s: float = 0) -> str:
        events.append(f"start {self.num_cpus}")
        self.address = "127.0.0.1:6553"
        return self.address

    def stop(self: LocalRayHead, *, wait: bool = True) -> None:
        events.append("stop")

    monkeypatch.setattr(LocalRayHead, "start", start)
    monkeypatch.setattr(LocalRayHead, "stop", stop)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    cfg = parse_config({"ray": {"num_cpus": 3}})
    # Execute: a cell fails inside the block
    with pytest.raises(RuntimeError, match="cell failed"), experiment_ray(cfg) as live:
        assert live.ray.init_args(8) == {"address": "127.0.0.1:6553", "include_dashboard": False}
        assert live.fingerprint() == cfg.fingerprint()  # where it runs is not what it computes
        raise RuntimeError("cell failed")
    # Assert: started with the configured CPUs, stopped despite the error
    assert events == ["start 3", "stop"]


def test_a_head_that_cannot_start_is_a_named_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Prepare: a `ray` that prints an error and exits
    fake = tmp_path / "ray"
    fake.write_text("#!/bin/sh\necho 'ray: address already in use'\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(ray_runtime, "_ray_cli", lambda: str(fake))
    head = LocalRayHead(num_cpus=1)
    # Execute / Assert: the head's own output is in the message; its folder is gone
    with pytest.raises(RuntimeError, match="did not start") as err:
        head.start(timeout_s=10)
    assert "address already in use" in str(err.value)
    assert head._temp is None and head._proc is None


def test_num_cpus_must_be_positive() -> None:
    with pytest.raises(ValueError, match="num_cpus of a local head must be >= 1; got 0"):
        LocalRayHead(0)


def test_stop_without_wait_finishes_in_the_background() -> None:
    # Prepare: a stand-in head process in its own group, like `ray start --block`
    import subprocess

    head = LocalRayHead(1)
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True, text=True)
    head._proc = proc
    # Execute
    head.stop(wait=False)
    head.join(timeout=30)
    # Assert: SIGTERM (not the SIGKILL fallback) ended it, and its group is gone
    assert proc.returncode == -signal.SIGTERM
    assert not _group_alive(proc.pid)
