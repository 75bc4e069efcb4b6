"""`fedcredit node init` and `fedcredit node start`: a member joins a deployment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
import typer
from rich.console import Console

from participant_node.deploy import init_node, prepare_partition, supernode_command

app = typer.Typer(help="Member deployment commands.", no_args_is_help=True)
NODE_FILE = "node.toml"


def _fail(console: Console, message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)
    return typer.Exit(code=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@app.command("init")
def init_cmd(
    home: Path = typer.Option(..., "--home", help="The member's node folder."),
    member_id: str = typer.Option(..., "--member-id", help="This member's id, e.g. m01."),
) -> None:
    """Create the SuperNode authentication key pair; send the .pub file to the association."""
    console = Console(highlight=False)
    try:
        keys = init_node(home, member_id)
    except (OSError, ValueError) as exc:
        raise _fail(console, str(exc)) from None
    (home / NODE_FILE).write_text(tomli_w.dumps({"member_id": member_id}))
    console.print(f"member {member_id}: SuperNode key {keys.private_key} (0600, keep it here)")
    console.print(f"send this public key to the association: {keys.public_key}")


@app.command("start")
def start_cmd(
    home: Path = typer.Option(..., "--home", help="The member's node folder (node init)."),
    coordinator: str = typer.Option(..., "--coordinator", help="SuperLink HOST:PORT."),
    data: Path = typer.Option(..., "--data", help="The member's data file (CSV/Parquet)."),
    contract: Path = typer.Option(..., "--contract", help="Consortium data contract (TOML)."),
    ledger: Path = typer.Option(..., "--ledger", help="The member's privacy budget ledger."),
    root_cert: Path | None = typer.Option(None, "--root-cert", help="Association's ca.pem."),
    private_key: Path = typer.Option(..., "--private-key", help="Consortium Paillier key."),
    public_key: Path = typer.Option(..., "--public-key", help="Consortium public key."),
    epsilon_budget: float | None = typer.Option(None, "--epsilon-budget", help="Total eps."),
    runtime_port: int = typer.Option(0, "--runtime-port", help="Local ClientApp API port."),
    insecure: bool = typer.Option(False, "--insecure", help="No TLS (never in production)."),
) -> None:
    """Validate the data, then run a SuperNode (TLS + authentication) for this member."""
    from privacy.keys import fingerprint, load_private_key, load_public_key

    console = Console(highlight=False)
    try:
        member_id = str(tomllib.loads((home / NODE_FILE).read_text())["member_id"])
        pub = load_public_key(public_key)
        load_private_key(private_key, expected_fingerprint=fingerprint(pub))
        prepared = prepare_partition(data, contract, home)
    except Exception as exc:  # every failure here stops the member before it connects
        raise _fail(console, f"not connecting: {exc}") from None
    node_config: dict[str, str | int | float] = {
        "member-id": member_id,
        "partition-file": str(prepared.resolve()),
        "dataset-file": str(data.resolve()),
        "private-key": str(private_key.resolve()),
        "public-key": str(public_key.resolve()),
        "ledger": str(ledger.resolve()),
    }
    if epsilon_budget is not None:
        node_config["epsilon-budget"] = float(epsilon_budget)
    try:
        cmd = supernode_command(
            coordinator=coordinator,
            node_config=node_config,
            auth_key=home / "supernode_auth_key",
            root_cert=root_cert.resolve() if root_cert else None,
            runtime_port=runtime_port or _free_port(),
            insecure=insecure,
        )
    except (ValueError, FileNotFoundError) as exc:
        raise _fail(console, str(exc)) from None
    tag = "INSECURE (no TLS) | " if insecure else ""
    print(f"{tag}member {member_id}: data valid ({data}), SuperNode -> {coordinator}", flush=True)
    env = dict(os.environ)
    env["FLWR_TELEMETRY_ENABLED"] = "0"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # same process group: killing `node start` (e.g. SIGKILL to its group) takes the SuperNode
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def stop(*_: Any) -> None:
        proc.terminate()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    assert proc.stdout is not None
    for raw in proc.stdout:
        print(f"{tag}{raw.decode(errors='replace').rstrip()}", flush=True)
    raise typer.Exit(code=proc.wait() or 0)
