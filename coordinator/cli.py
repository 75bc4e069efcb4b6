"""`fedcredit coordinator ...`: the association's commands (init, allow, start, run, status)."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import typer
from rich.console import Console

from coordinator.deploy.home import CoordinatorHome, DeploySettings, init_home

app = typer.Typer(help="Association (coordinator) commands.", no_args_is_help=True)
HOME_OPTION = typer.Option(Path(".fedcredit/coordinator"), "--home", help="Coordinator home.")


def _fail(console: Console, message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)
    return typer.Exit(code=1)


def _member_keys(items: list[str]) -> dict[str, Path]:
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--member must be NAME=PUBLIC_KEY_FILE; got {item!r}")
        out[name] = Path(path)
    return out


@app.command("init")
def init_cmd(
    home: Path = HOME_OPTION,
    public_key: Path = typer.Option(..., "--public-key", help="Consortium Paillier public key."),
    member: list[str] = typer.Option([], "--member", help="NAME=FILE.pub (repeatable)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address the SuperLink binds."),
    port: int = typer.Option(9093, "--port", help="SuperLink port (Fleet + Control API)."),
    advertise: str = typer.Option("", "--advertise", help="Host name members connect to."),
    san: list[str] = typer.Option([], "--san", help="Extra host/IP in the TLS cert."),
    run_store: str = typer.Option("", "--run-store", help="SQLite file or postgresql:// URL."),
) -> None:
    """Create the coordinator home: TLS CA + server certificate, allow-list, run store."""
    console = Console(highlight=False)
    try:
        settings = DeploySettings(host=host, port=port, advertise=advertise, run_store=run_store)
        hosts = list(dict.fromkeys([advertise or host, host, *san]))
        h = init_home(
            home, public_key=public_key, settings=settings, hosts=hosts,
            members=_member_keys(member),
        )  # fmt: skip
        from coordinator.state import RunStore

        RunStore(h.run_store()).close()
    except (OSError, ValueError, RuntimeError) as exc:
        raise _fail(console, str(exc)) from None
    console.print(f"coordinator home {h.root}")
    console.print(f"  TLS CA certificate (give to members): {h.tls / 'ca.pem'}")
    console.print(f"  SuperLink address: {settings.address} (TLS, SuperNode authentication)")
    console.print(f"  allow-list: {', '.join(sorted(h.members())) or '(empty)'}")


@app.command("allow")
def allow_cmd(
    home: Path = HOME_OPTION,
    member: str = typer.Option(..., "--member", help="Member id."),
    public_key: Path = typer.Option(..., "--public-key", help="The member's SuperNode key."),
) -> None:
    """Add a member's SuperNode public key to the allow-list (registered at next start)."""
    console = Console(highlight=False)
    try:
        dest = CoordinatorHome(home).allow(member, public_key)
    except (OSError, ValueError) as exc:
        raise _fail(console, str(exc)) from None
    console.print(f"allowed {member}: {dest}")


@app.command("start")
def start_cmd(
    home: Path = HOME_OPTION,
    insecure: bool = typer.Option(False, "--insecure", help="No TLS (never in production)."),
) -> None:
    """Run the SuperLink (TLS + SuperNode authentication) and register the allow-list."""
    from coordinator.deploy.link import SuperLink

    console = Console(highlight=False)
    tag = "INSECURE (no TLS) | " if insecure else ""
    h = CoordinatorHome(home)
    h.logs.mkdir(parents=True, exist_ok=True)
    log = (h.logs / "superlink.log").open("a")
    lock = threading.Lock()

    def say(line: str) -> None:
        text = f"{tag}{line}"
        with lock:
            print(text, flush=True)
            log.write(text + "\n")
            log.flush()

    def relay(stream: IO[bytes]) -> None:
        for raw in stream:
            say(raw.decode(errors="replace").rstrip())

    try:
        link = SuperLink(h, insecure=insecure)
        proc = link.start()
        assert proc.stdout is not None
        pump = threading.Thread(target=relay, args=(proc.stdout,), daemon=True)
        pump.start()  # drain the SuperLink's output from the start (a full pipe would block it)
        link.wait_ready()
        say(
            f"SuperLink on {link.settings.address} ({'no TLS' if insecure else 'TLS'}, "
            f"SuperNode authentication on), pid {proc.pid}"
        )
        ids = link.register_members()
    except (OSError, RuntimeError, TimeoutError, ValueError) as exc:
        if "link" in locals():
            link.stop()
        raise _fail(console, f"{tag}{exc}") from None
    for name, node in sorted(ids.items()):
        say(f"allow-listed {name}: node {node}")

    def stop(*_: Any) -> None:
        link.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = proc.wait()
    pump.join(5)
    raise typer.Exit(code=code or 0)


def _progress(console: Console, num_rounds: int) -> Any:
    def show(event: dict[str, Any]) -> None:
        counts: dict[str, list[str]] = {}
        for row in event["participation"]:
            counts.setdefault(str(row["status"]), []).append(str(row["member"]))
        m = event["metrics"]
        parts = [f"{k.replace('_', ' ')}: {', '.join(v)}" for k, v in sorted(counts.items())]
        extra = ""
        if m:
            extra = f" ({m.get('seconds', 0):.1f} s, {m.get('bytes_up', 0) / 1e3:.1f} kB up)"
        console.print(
            f"round {event['round']}/{num_rounds} {event['phase']}: {'; '.join(parts)}{extra}",
            soft_wrap=True,
        )

    return show


@app.command("run")
def run_cmd(
    home: Path = HOME_OPTION,
    rounds: int = typer.Option(..., "--rounds", min=1, help="Training rounds."),
    run_id: str = typer.Option("", "--run-id", help="Run id; an existing one resumes."),
    min_members: int = typer.Option(2, "--min-members", min=1),
    round_timeout: float = typer.Option(300.0, "--round-timeout", help="Seconds per round."),
    model: str = typer.Option("logistic", "--model", help="logistic | mlp"),
    epsilon: float = typer.Option(3.0, "--epsilon", help="DP-SGD target epsilon."),
    no_evaluate: bool = typer.Option(False, "--no-evaluate", help="Skip federated eval."),
    config: list[str] = typer.Option([], "--config", help="Extra run config KEY=VALUE."),
) -> None:
    """Submit a private run (DP-SGD + packed Paillier) and print progress per round."""
    from coordinator.deploy.link import submit_run, wait_run
    from coordinator.state import RunStore, RunStoreError

    console = Console(highlight=False)
    h = CoordinatorHome(home)
    rid = run_id or time.strftime("run-%Y%m%d-%H%M%S")
    try:
        store = h.run_store()
        with RunStore(store) as s:
            try:
                s.run(rid)
                console.print(f"run {rid} exists: resuming at round {s.resume_round(rid)}")
            except RunStoreError:
                pass
        rc: dict[str, str | int | float | bool] = {
            "num-server-rounds": rounds, "min-members": min_members,
            "round-timeout": round_timeout, "model": model, "epsilon": epsilon,
            "evaluate": not no_evaluate, "run-id": rid, "run-store": store,
            "public-key": str(h.public_key), "members-file": str(h.members_file),
            "transport": "INSECURE" if (h.root / "INSECURE").exists() else "tls",
            "log-file": str(h.logs / f"run-{rid}.log"),
        }  # fmt: skip
        for item in config:
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--config must be KEY=VALUE; got {item!r}")
            rc[key] = json.loads(value) if value[:1] in "0123456789-tf[" else value
        flower_id = submit_run(h, rc)
        console.print(f"submitted run {rid} (Flower run {flower_id}): {rounds} rounds")
        run = wait_run(h, rid, flower_id, on_round=_progress(console, rounds))
    except (OSError, ValueError, RuntimeError, TimeoutError) as exc:
        raise _fail(console, str(exc)) from None
    console.print(
        f"run {rid}: {run['status']}" + (f" ({run['reason']})" if run.get("reason") else "")
    )
    if run["status"] != "completed":
        raise typer.Exit(code=2)


@app.command("status")
def status_cmd(home: Path = HOME_OPTION, run_id: str = typer.Option("", "--run-id")) -> None:
    """Runs in the run store, or one run's rounds and participation."""
    from coordinator.state import RunStore

    console = Console(highlight=False)
    h = CoordinatorHome(home)
    with RunStore(h.run_store()) as store:
        if not run_id:
            for r in store.runs():
                console.print(f"{r['run_id']}: {r['status']} {r['reason']}", soft_wrap=True)
            return
        r = store.run(run_id)
        console.print(f"{run_id}: {r['status']} {r['reason']}", soft_wrap=True)
        for row in store.participation(run_id):
            console.print(
                f"  round {row['round']}: {row['member']} {row['status']} {row['reason']}"
            )
