"""One Ray runtime for all the cells of an experiment.

Flower's Ray backend starts Ray for a simulation when no Ray is connected and shuts it down at
the end, so an experiment of N cells paid N start-ups and N shutdowns (about 5 s + 1.5 s each
on the 2-core reference machine; more than the training itself in a small cell). An experiment
that is not told to join a cluster now starts one private local Ray head for its whole run
(``ray start --head --block`` in its own process group and its own temp folder) and points every
cell at it: Flower's backend then only *connects* (~0.05 s) and *disconnects* (~0.03 s). When
the experiment ends, fails or is interrupted, the head's process group is terminated and its
temp folder removed, so nothing outlives the run and no other Ray on the machine is touched
(``ray stop`` would stop them all).

A config (or the ``RAY_ADDRESS`` environment variable) that names a cluster is used as it is:
the cluster is the user's to start and stop. ``[ray] shared_head = false`` restores one Ray per
cell (Flower's own behaviour).

Example
-------
>>> from simulations.experiments.grid import parse_config
>>> cfg = parse_config({"ray": {"address": "10.0.0.1:6379"}})
>>> with experiment_ray(cfg) as live:          # a cluster: nothing is started
...     live.ray.address
'10.0.0.1:6379'
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path

from simulations.engine import RAY_WORKER_ENV
from simulations.experiments.grid import ExperimentConfig

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0
_ADDRESS = re.compile(r"ray start --address='([^']+)'")


def _ray_cli() -> str:
    beside = Path(sys.executable).with_name("ray")
    if beside.is_file():
        return str(beside)
    found = shutil.which("ray")
    if found is None:
        raise RuntimeError("the `ray` command is not installed beside this Python")
    return found


class LocalRayHead:
    """A private single-node Ray head for one experiment (start/stop, address).

    Parameters
    ----------
    num_cpus
        CPUs the head advertises (Flower places ``cpus_per_member`` per ClientApp on them).
    """

    def __init__(self, num_cpus: int) -> None:
        if num_cpus < 1:
            raise ValueError(f"[ray] num_cpus of a local head must be >= 1; got {num_cpus}")
        self.num_cpus = num_cpus
        self.address: str | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._temp: Path | None = None
        self._log: list[str] = []
        self._stopper: threading.Thread | None = None

    def start(self, timeout_s: float = START_TIMEOUT_S) -> str:
        """Start the head and return its address; raise with the head's output on failure."""
        # A short private folder: Ray's Unix socket paths must stay under ~107 characters,
        # and a private folder keeps its address file away from /tmp/ray (other Rays).
        self._temp = Path(tempfile.mkdtemp(prefix="fcray-", dir="/tmp"))
        # the head's raylet starts the workers, so it carries their environment from the start
        env = {**os.environ, **RAY_WORKER_ENV, "RAY_USAGE_STATS_ENABLED": "0"}
        env.pop("RAY_ADDRESS", None)
        cmd = [
            _ray_cli(), "start", "--head", "--block", "--port=0",
            f"--num-cpus={self.num_cpus}", "--num-gpus=0", "--include-dashboard=false",
            "--disable-usage-stats", f"--temp-dir={self._temp}",
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,  # its own process group: stopped as a whole
        )
        found = threading.Event()

        def read() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:
                self._log = [*self._log[-200:], line.rstrip()]
                match = _ADDRESS.search(line)
                if match and self.address is None:
                    self.address = match.group(1)
                    found.set()
            found.set()  # the head exited: wake the waiter

        threading.Thread(target=read, name="ray-head-log", daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while not found.wait(0.2):
            if time.monotonic() > deadline:
                break
        if self.address is None:
            tail = "\n".join(self._log[-20:])
            self.stop()
            raise RuntimeError(f"local Ray head did not start within {timeout_s:.0f} s:\n{tail}")
        return self.address

    def stop(self, *, wait: bool = True) -> None:
        """Terminate the head's process group and remove its temp folder (idempotent).

        ``wait=False`` signals the group and leaves the waiting (Ray's graceful shutdown takes
        2-5 s) to a non-daemon thread, so the caller can write its report meanwhile; the
        interpreter still waits for that thread before it exits. :meth:`join` waits for it.
        """
        proc, self._proc = self._proc, None
        temp, self._temp = self._temp, None
        self.address = None
        if proc is not None and proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        self._stopper = threading.Thread(
            target=_finish_stop, args=(proc, temp), name="ray-head-stop", daemon=False
        )
        self._stopper.start()
        if wait:
            self.join()

    def join(self, timeout: float | None = None) -> None:
        """Wait until a stopped head's processes are gone and its folder is removed."""
        if self._stopper is not None:
            self._stopper.join(timeout)


def _finish_stop(proc: subprocess.Popen[str] | None, temp: Path | None) -> None:
    """Wait for a SIGTERMed head (SIGKILL after ``STOP_TIMEOUT_S``), reap, remove its folder."""
    if proc is not None:
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        _reap_group(proc.pid)
    if temp is not None:
        shutil.rmtree(temp, ignore_errors=True)


def _reap_group(pgid: int) -> None:
    """SIGKILL whatever of the head's process group is still alive after it exited."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


@contextmanager
def experiment_ray(cfg: ExperimentConfig, *, needed: bool = True) -> Iterator[ExperimentConfig]:
    """Yield ``cfg`` with ``[ray] address`` pointing at the Ray every cell should use.

    A configured cluster (``address`` or ``RAY_ADDRESS``) is used as it is; otherwise, unless
    ``shared_head = false`` or nothing is left to run (``needed=False``), a private local head
    runs for the duration of the block.
    """
    local = not (cfg.ray.address or os.environ.get("RAY_ADDRESS"))
    if not (local and cfg.ray.shared_head and needed):
        yield cfg
        return
    head = LocalRayHead(cfg.ray.num_cpus or max(1, os.cpu_count() or 1))
    try:
        address = head.start()
        yield replace(cfg, ray=replace(cfg.ray, address=address))
    finally:
        head.stop(wait=False)  # the report is written while Ray shuts down
