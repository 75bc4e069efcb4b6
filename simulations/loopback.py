"""A whole deployment on one machine: the association and its members as real processes.

Used by the deployment tests and ``benchmarks/deployment_round.py``, and the same steps as the
README's loopback walkthrough: key ceremony, contract, ``coordinator init`` (TLS + allow-list),
``node init`` per member, then ``fedcredit coordinator start`` and one ``fedcredit node start``
per member, each its own process group on 127.0.0.1 (free ports), killed on :meth:`close`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from coordinator.deploy.home import CoordinatorHome, DeploySettings, init_home
from participant_node.data import infer_contract_file
from participant_node.deploy import init_node, prepare_partition, supernode_command
from privacy.keys import generate_keypair, write_keypair


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fedcredit_exe() -> str:
    """The ``fedcredit`` console script of this environment."""
    return str(Path(sys.executable).parent / "fedcredit")


@dataclass
class Loopback:
    """Paths and processes of one loopback deployment under ``root``."""

    root: Path
    members: list[str]
    label: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)

    @property
    def home(self) -> CoordinatorHome:
        """The association's home."""
        return CoordinatorHome(self.root / "association")

    def member_dir(self, member: str) -> Path:
        """A member's own folder (data, node home, ledger, consortium keys)."""
        return self.root / "members" / member

    def log(self, name: str) -> Path:
        """Captured stdout+stderr of process ``name``."""
        return self.root / "logs" / f"{name}.log"

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        self.log(name).parent.mkdir(parents=True, exist_ok=True)
        self.offsets[name] = self.log(name).stat().st_size if self.log(name).exists() else 0
        env = dict(os.environ, FLWR_TELEMETRY_ENABLED="0")
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        with self.log(name).open("ab") as fh:
            proc = subprocess.Popen(
                cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.processes[name] = proc
        return proc

    def start_coordinator(self, *, insecure: bool = False, wait: float = 90.0) -> None:
        """``fedcredit coordinator start``; returns once the allow-list is registered."""
        cmd = [fedcredit_exe(), "coordinator", "start", "--home", str(self.home.root)]
        self._spawn("coordinator", [*cmd, "--insecure"] if insecure else cmd)
        ready = "allow-listed" if self.members else "SuperLink on"
        self.wait_for_log("coordinator", ready, wait, offset=self.offsets["coordinator"])

    def wait_online(self, *members: str, timeout: float = 180.0) -> None:
        """Wait until each member's SuperNode was activated by the SuperLink (since its start)."""
        for m in members:
            self.wait_for_log(m, "SuperNode ID:", timeout, offset=self.offsets.get(m, 0))

    def start_member(self, member: str, *, epsilon_budget: float | None = None) -> None:
        """``fedcredit node start`` for ``member`` (TLS, authentication, data validated)."""
        d = self.member_dir(member)
        cmd = [
            fedcredit_exe(), "node", "start", "--home", str(d / "node"),
            "--coordinator", self.home.settings().address, "--data", str(d / "data.csv"),
            "--contract", str(self.root / "contract.toml"), "--ledger", str(d / "ledger.sqlite"),
            "--root-cert", str(self.home.tls / "ca.pem"),
            "--private-key", str(d / "keys" / "private_key.json"),
            "--public-key", str(d / "keys" / "public_key.json"),
        ]  # fmt: skip
        if epsilon_budget is not None:
            cmd += ["--epsilon-budget", str(epsilon_budget)]
        self._spawn(member, cmd)

    def start_supernode(self, member: str, extra: Mapping[str, str]) -> None:
        """A SuperNode started with Flower's own executable, with extra node-config keys
        (e.g. a test ClientApp's switches); TLS and authentication as ``node start``."""
        d = self.member_dir(member)
        prepared = prepare_partition(d / "data.csv", self.root / "contract.toml", d / "node")
        node_config: dict[str, str | int | float] = {
            "member-id": member,
            "partition-file": str(prepared),
            "dataset-file": str(d / "data.csv"),
            "private-key": str(d / "keys" / "private_key.json"),
            "public-key": str(d / "keys" / "public_key.json"),
            "ledger": str(d / "ledger.sqlite"),
            **extra,
        }
        cmd = supernode_command(
            coordinator=self.home.settings().address,
            node_config=node_config,
            auth_key=d / "node" / "supernode_auth_key",
            root_cert=self.home.tls / "ca.pem",
            runtime_port=free_port(),
        )
        self._spawn(member, cmd)

    def wait_for_log(self, name: str, text: str, timeout: float, *, offset: int = 0) -> None:
        """Wait until ``text`` appears in the log of ``name`` (after byte ``offset``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log(name).is_file():
                with self.log(name).open("rb") as fh:
                    fh.seek(offset)
                    if text.encode() in fh.read():
                        return
            proc = self.processes.get(name)
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.5)
        tail = self.log(name).read_text(errors="replace")[-3000:] if self.log(name).exists() else ""
        raise TimeoutError(f"{name}: {text!r} not seen in its log within {timeout} s:\n{tail}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the whole process group of ``name`` and reap it."""
        proc = self.processes.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def close(self) -> None:
        """Stop every process (SIGTERM to each group, then SIGKILL)."""
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM)
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        self.processes.clear()

    def run(self, *args: str, timeout: float = 900.0) -> subprocess.CompletedProcess[str]:
        """``fedcredit coordinator run --home H ARGS`` (foreground; prints progress)."""
        cmd = [fedcredit_exe(), "coordinator", "run", "--home", str(self.home.root), *args]
        env = dict(os.environ, FLWR_TELEMETRY_ENABLED="0")
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )


def toy_credit_frame(seed: int, rows: int = 300) -> pd.DataFrame:
    """A tiny member table: 3 numeric features, label ``default`` (yes/no) from a logistic."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    p = 1 / (1 + np.exp(-(x @ np.array([1.2, -0.8, 0.5]) - 1.0)))
    label = np.where(rng.random(rows) < p, "yes", "no")
    return pd.DataFrame({"f1": x[:, 0], "f2": x[:, 1], "f3": x[:, 2], "default": label})


def setup_loopback(
    root: Path,
    member_data: Mapping[str, pd.DataFrame],
    *,
    label: str,
    positive: str,
    key_bits: int = 3072,
    insecure_small_key: bool = False,
    allow: tuple[str, ...] | None = None,
    id_column: str | None = None,
) -> Loopback:
    """Key ceremony, contract, coordinator home and member folders for a loopback deployment.

    ``allow`` lists the members put on the association's allow-list (default: all);
    ``id_column`` is a record id column kept out of the features.
    """
    root.mkdir(parents=True, exist_ok=True)
    pub, priv = generate_keypair(key_bits, insecure_small_key=insecure_small_key)
    write_keypair(root / "ceremony", pub, priv)
    pooled = pd.concat(list(member_data.values()), ignore_index=True)
    pooled.to_csv(root / "pooled.csv", index=False)
    contract = infer_contract_file(root / "pooled.csv", label, positive, id_column)
    contract.save(root / "contract.toml")
    (root / "pooled.csv").unlink()
    keys: dict[str, Path] = {}
    for member, frame in member_data.items():
        d = root / "members" / member
        d.mkdir(parents=True, exist_ok=True)
        frame.to_csv(d / "data.csv", index=False)
        write_keypair(d / "keys", pub, priv)
        keys[member] = init_node(d / "node", member).public_key
        (d / "node" / "node.toml").write_text(f'member_id = "{member}"\n')
    allowed = list(member_data) if allow is None else list(allow)
    init_home(
        root / "association",
        public_key=root / "ceremony" / "public_key.json",
        settings=DeploySettings(host="127.0.0.1", port=free_port()),
        hosts=["127.0.0.1", "localhost"],
        members={m: keys[m] for m in allowed},
    )
    return Loopback(root=root, members=allowed, label=label)
