"""`fedcredit serve ...` and `fedcredit auth ...`.

::

    fedcredit auth add-key --role risk_analyst --name alice          # prints the key once
    fedcredit auth add-key --role member --name m01-app --member-id m01
    fedcredit auth revoke alice
    fedcredit auth list
    fedcredit auth audit --verify
    fedcredit serve --role risk --port 8080 --store out/graph
    fedcredit serve --role member --member-id m01 --model m01_model.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from simulations.serve.audit import read_log
from simulations.serve.auth import ROLES, KeyStore
from simulations.serve.settings import SERVE_ROLES, fedcredit_home, load_settings

auth_app = typer.Typer(help="API keys and the audit log.", no_args_is_help=True)
console = Console(soft_wrap=True)
errors = Console(stderr=True)

KeysOpt = Annotated[
    Path | None,
    typer.Option("--keys", help="API-key database [default: $FEDCREDIT_HOME/auth/keys.sqlite]."),
]
AuditOpt = Annotated[
    Path | None, typer.Option("--audit", help="Audit log [default: $FEDCREDIT_HOME/audit.sqlite].")
]


def _fail(message: str) -> typer.Exit:
    errors.print(f"[red]error:[/red] {' '.join(message.split())}", highlight=False)
    return typer.Exit(code=1)


def _keys(path: Path | None) -> KeyStore:
    return KeyStore(path if path is not None else fedcredit_home() / "auth" / "keys.sqlite")


@auth_app.command("add-key")
def add_key(
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")],
    name: Annotated[str, typer.Option("--name", help="Unique key name (shown in the audit log).")],
    member_id: Annotated[
        str | None,
        typer.Option(
            "--member-id", help="Member id (role member only): the key sees only its scores."
        ),
    ] = None,
    keys: KeysOpt = None,
) -> None:
    """Create an API key and print it once (send it as `Authorization: Bearer <key>`)."""
    store = _keys(keys)
    try:
        token = store.add(name, role, member_id)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    finally:
        store.close()
    errors.print(f"key {name!r} (role {role}) created; it is shown only now:", highlight=False)
    print(token)


@auth_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="Key name.")], keys: KeysOpt = None) -> None:
    """Revoke a key (takes effect on the next request)."""
    store = _keys(keys)
    try:
        store.revoke(name)
    except KeyError as exc:
        raise _fail(str(exc.args[0])) from exc
    finally:
        store.close()
    console.print(f"revoked {name!r}", highlight=False)


@auth_app.command("list")
def list_keys(keys: KeysOpt = None) -> None:
    """Key names, roles and states (never the keys)."""
    store = _keys(keys)
    try:
        rows = store.keys()
    finally:
        store.close()
    table = Table()
    for column in ("name", "role", "member_id", "state"):
        table.add_column(column)
    for row in rows:
        state = "revoked" if row["revoked_at"] else "active"
        table.add_row(str(row["name"]), str(row["role"]), str(row["member_id"] or ""), state)
    console.print(table)


@auth_app.command("audit")
def audit(
    audit_path: AuditOpt = None,
    last: Annotated[
        int, typer.Option("--last", min=0, max=10_000, help="Show the last N entries.")
    ] = 20,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check the hash chain; exit 1 if broken.")
    ] = False,
) -> None:
    """Show the audit log (who, what, when) and optionally verify its hash chain."""
    path = audit_path if audit_path is not None else fedcredit_home() / "audit.sqlite"
    try:
        log = read_log(path)
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from exc
    try:
        check = log.verify()
        rows = log.entries(limit=last, since_seq=max(check.rows - last, 0)) if last else []
    finally:
        log.close()
    table = Table(title=f"{path} ({check.rows} entries)")
    for column in ("seq", "when (UTC)", "key", "role", "request", "subjects", "status"):
        table.add_column(column)
    import datetime as dt

    for row in rows:
        when = dt.datetime.fromtimestamp(float(row["ts"]), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        request = f"{row['method']} {row['path']}" + (f"?{row['query']}" if row["query"] else "")
        table.add_row(
            str(row["seq"]),
            when,
            str(row["key_name"] or "-"),
            str(row["role"] or "-"),
            request,
            str(row["subjects"])[:40],
            str(row["status"]),
        )
    if rows:
        console.print(table)
    if verify:
        if not check.ok:
            raise _fail(
                f"audit chain broken at entry {check.first_bad} of {path}: an entry "
                "was edited or removed"
            )
        console.print(f"OK audit chain of {check.rows} entries verifies", highlight=False)


def serve(
    role: Annotated[
        str | None, typer.Option("--role", help=f"{' | '.join(SERVE_ROLES)} [default: risk].")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port [default: 8000].")] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Bind address [default: 127.0.0.1].")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML with a [serve] table; flags override it.")
    ] = None,
    keys: KeysOpt = None,
    audit_path: AuditOpt = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help="Graph store: networkx | neo4j (risk role).")
    ] = None,
    store: Annotated[
        Path | None, typer.Option("--store", help="networkx graph store (risk role).")
    ] = None,
    uri: Annotated[str | None, typer.Option("--uri", help="Bolt URI (risk role).")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Bolt user.")] = None,
    password_env: Annotated[
        str | None,
        typer.Option("--password-env", help="Environment variable holding the Bolt password."),
    ] = None,
    database: Annotated[str | None, typer.Option("--database", help="Bolt database.")] = None,
    features: Annotated[
        Path | None,
        typer.Option(
            "--features", help="Precomputed graph-feature table (risk role; else computed)."
        ),
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="Model artifact (member role).")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Scoring policy TOML (member role).")
    ] = None,
    graph_features: Annotated[
        Path | None,
        typer.Option(
            "--graph-features", help="Graph-feature table joined to scored rows (member role)."
        ),
    ] = None,
    member_id: Annotated[
        str | None,
        typer.Option(
            "--member-id",
            help="The member this server serves (member role; keys of other members get 403).",
        ),
    ] = None,
    run_store: Annotated[
        Path | None, typer.Option("--run-store", help="Coordinator run store (association role).")
    ] = None,
) -> None:
    """Serve one role's HTTP API under uvicorn (OpenAPI docs at /docs)."""
    import uvicorn

    from simulations.serve.app import create_app

    try:
        settings = load_settings(
            config,
            role=role,
            port=port,
            host=host,
            keys=keys,
            audit=audit_path,
            backend=backend,
            store=store,
            uri=uri,
            user=user,
            password_env=password_env,
            database=database,
            features=features,
            model=model,
            policy=policy,
            graph_features=graph_features,
            member_id=member_id,
            run_store=run_store,
        )
        with console.status(f"loading the {settings.role} API"):
            app = create_app(settings.role, settings)
    except (ValueError, OSError, RuntimeError) as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"fedcredit {settings.role} API on http://{settings.host}:{settings.port} "
        f"(keys {settings.keys_path}, audit {settings.audit_path})",
        highlight=False,
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )
