"""Run Flower's SuperLink for the association and submit runs to it with Flower's own CLI.

Everything here drives Flower's executables: ``flower-superlink`` (TLS with the association's
certificate, ``--enable-supernode-auth``, persistent ``--database``), ``flwr supernode
register`` (the allow-list: only registered public keys can activate a SuperNode), ``flwr run``
(submits the Flower app over the Control API) and ``flwr ls`` (run status). Progress is read
from the run store, which the ServerApp writes round by round.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import tomli_w

from coordinator.deploy.home import CONNECTION, CoordinatorHome

TERMINAL = ("completed", "stalled", "failed")


def flower_env(home: CoordinatorHome) -> dict[str, str]:
    """Environment for Flower's executables: its CLI home, telemetry off, this venv first."""
    env = dict(os.environ)
    env["FLWR_HOME"] = str(home.flwr_home)
    env["FLWR_TELEMETRY_ENABLED"] = "0"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def flwr_cli(home: CoordinatorHome, *args: str, timeout: float = 120.0) -> dict[str, Any]:
    """Run ``flwr ARGS --format json`` against this home's SuperLink; the parsed JSON."""
    exe = Path(sys.executable).parent / "flwr"
    proc = subprocess.run(
        [str(exe), *args, "--format", "json"],
        env=flower_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    start = proc.stdout.find("{")
    try:
        doc: dict[str, Any] = json.loads(proc.stdout[start:]) if start >= 0 else {}
    except ValueError:
        doc = {}
    if proc.returncode != 0 or not doc.get("success", False):
        detail = doc.get("error-message") or proc.stderr.strip()[-500:] or proc.stdout[-500:]
        raise RuntimeError(f"flwr {args[0]} {args[1] if len(args) > 1 else ''}: {detail}")
    return doc


class SuperLink:
    """The association's ``flower-superlink`` process.

    Parameters
    ----------
    home
        The coordinator home (settings, TLS, SuperLink database).
    insecure
        Run without TLS; only by explicit request, recorded in ``H/INSECURE`` and in runs.
    """

    def __init__(self, home: CoordinatorHome, *, insecure: bool = False) -> None:
        self.home = home
        self.insecure = insecure
        self.settings = home.settings()
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The ``flower-superlink`` command line."""
        exe = str(Path(sys.executable).parent / "flower-superlink")
        cmd = [
            exe,
            "--database",
            str(self.home.superlink_db),
            "--host",
            self.settings.host,
            "--port",
            str(self.settings.port),
            "--disable-runtime-dependency-installation",
        ]
        if self.insecure:
            return [*cmd, "--insecure"]
        tls = self.home.tls
        for f in ("ca.pem", "server.pem", "server.key"):
            if not (tls / f).is_file():
                raise FileNotFoundError(
                    f"{tls / f}: TLS material missing; refusing to start without TLS "
                    "(run `fedcredit coordinator init`, or pass --insecure explicitly)"
                )
        return [
            *cmd,
            "--ssl-ca-certfile",
            str(tls / "ca.pem"),
            "--ssl-certfile",
            str(tls / "server.pem"),
            "--ssl-keyfile",
            str(tls / "server.key"),
            "--enable-supernode-auth",
        ]

    def start(self) -> subprocess.Popen[bytes]:
        """Start the SuperLink as a child in this process group (stdout+stderr piped)."""
        marker = self.home.root / "INSECURE"
        if self.insecure:
            marker.write_text("this SuperLink was started with --insecure: no TLS\n")
        else:
            marker.unlink(missing_ok=True)
        self.home.write_flwr_config()
        self.home.logs.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.command(),
            env=flower_env(self.home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        return self.process

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the SuperLink accepts connections; raise when it died or timed out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"flower-superlink exited with code {self.process.returncode}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex((self.settings.host, self.settings.port)) == 0:
                    return
            time.sleep(0.3)
        raise TimeoutError(f"SuperLink not listening on {self.settings.address} in {timeout} s")

    def register_members(self) -> dict[str, int]:
        """Register every allow-listed key not registered yet; return ``member -> node id``."""
        members = self.home.members()
        for name, entry in members.items():
            if entry.get("node_id") is None:
                doc = flwr_cli(
                    self.home, "supernode", "register", entry["public_key"], CONNECTION,
                    "--name", name,
                )  # fmt: skip
                entry["node_id"] = int(doc["node-id"])
        self.home.save_members(members)
        return {k: int(v["node_id"]) for k, v in members.items()}

    def stop(self) -> None:
        """Terminate the SuperLink (SIGTERM, then SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                self.process.send_signal(sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


def write_app(
    directory: Path,
    run_config: Mapping[str, str | int | float | bool],
    *,
    clientapp: str = "participant_node.client_app:app",
    extra_files: Sequence[Path] = (),
) -> Path:
    """A Flower app folder (``pyproject.toml`` + ``extra_files``) whose config is ``run_config``."""
    directory.mkdir(parents=True, exist_ok=True)
    doc = {
        "build-system": {"requires": ["setuptools"], "build-backend": "setuptools.build_meta"},
        "project": {"name": "fedcredit-run", "version": "1.0.0"},
        "tool": {
            "flwr": {
                "app": {
                    "publisher": "fedcredit",
                    "components": {
                        "serverapp": "coordinator.server_app:app",
                        "clientapp": clientapp,
                    },
                    "config": dict(run_config),
                }
            }
        },
    }
    (directory / "pyproject.toml").write_text(tomli_w.dumps(doc))
    for f in extra_files:
        (directory / f.name).write_bytes(f.read_bytes())
    return directory


def submit_run(
    home: CoordinatorHome,
    run_config: Mapping[str, str | int | float | bool],
    *,
    clientapp: str = "participant_node.client_app:app",
    extra_files: Sequence[Path] = (),
) -> int:
    """Submit a run with ``flwr run``; return Flower's run id."""
    run_id = str(run_config["run-id"])
    app_dir = write_app(
        home.apps / run_id / time.strftime("%Y%m%dT%H%M%S"),
        run_config,
        clientapp=clientapp,
        extra_files=extra_files,
    )
    doc = flwr_cli(home, "run", str(app_dir), CONNECTION)
    return int(doc["run-id"])


def flower_status(home: CoordinatorHome, flower_run_id: int) -> str:
    """Flower's status text of a run (e.g. ``running``, ``finished:completed``)."""
    doc = flwr_cli(home, "ls", CONNECTION, "--run-id", str(flower_run_id), timeout=60.0)
    runs = doc.get("runs", [])
    return str(runs[0]["status"]) if runs else "unknown"


def wait_run(
    home: CoordinatorHome,
    run_id: str,
    flower_run_id: int,
    *,
    on_round: Callable[[dict[str, Any]], None] | None = None,
    poll: float = 2.0,
    timeout: float = 24 * 3600.0,
) -> dict[str, object]:
    """Follow a run in the run store until it ends; call ``on_round`` for each new round."""
    from coordinator.state import RunStore, RunStoreError

    seen: set[tuple[int, str]] = set()
    deadline = time.monotonic() + timeout
    checks = 0
    flower_done = False
    while time.monotonic() < deadline:
        with RunStore(home.run_store()) as store:
            try:
                run = store.run(run_id)
            except RunStoreError:  # the ServerApp has not recorded the run yet
                run = {"status": "pending"}
            if run["status"] != "pending":
                for phase in ("train", "evaluate"):
                    rows = store.participation(run_id, phase)
                    metrics = store.metrics(run_id, phase)
                    for rnd in sorted({int(str(r["round"])) for r in rows}):
                        if (rnd, phase) in seen or (
                            rnd not in metrics and run["status"] == "running"
                        ):
                            continue
                        seen.add((rnd, phase))
                        if on_round is not None:
                            on_round(
                                {
                                    "round": rnd,
                                    "phase": phase,
                                    "metrics": metrics.get(rnd, {}),
                                    "participation": [r for r in rows if r["round"] == rnd],
                                }
                            )
            if run["status"] in TERMINAL:
                return run
        if flower_done:  # one more pass above read everything the ServerApp wrote
            if run["status"] == "pending":
                return {"status": "failed", "reason": "the ServerApp ended without a record"}
            return run
        checks += 1
        if checks % 5 == 0 and flower_status(home, flower_run_id).startswith("finished"):
            flower_done = True
            continue
        time.sleep(poll)
    raise TimeoutError(f"run {run_id} did not finish within {timeout:g} s")
