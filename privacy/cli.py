"""Command-line groups of the privacy package.

- ``app``: ``fedcredit keys init --bits 3072 --out DIR`` (key ceremony).
- ``ledger_app``: its ``budget`` command is mounted as ``fedcredit node budget --ledger PATH``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from privacy.keys import (
    DEFAULT_KEY_BITS,
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    check_key_bits,
    fingerprint,
    generate_keypair,
    write_keypair,
)
from privacy.ledger import BudgetLedger

app = typer.Typer(help="Consortium key ceremony (Paillier).", no_args_is_help=True)
ledger_app = typer.Typer(help="Member privacy budget ledger.", no_args_is_help=True)
console = Console()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


@app.callback()
def keys() -> None:
    """Consortium key ceremony: the coordinator gets the public key, members the private key."""


@app.command("init")
def init(
    out: Path = typer.Option(..., "--out", help="Directory for public_key.json/private_key.json."),
    bits: int = typer.Option(DEFAULT_KEY_BITS, "--bits", help="Modulus size (3072 or 2048)."),
    insecure_small_key: bool = typer.Option(
        False, "--insecure-small-key", help="Allow keys below 2048 bits (tests only)."
    ),
) -> None:
    """Generate the consortium Paillier key pair (never overwrites existing key files)."""
    try:
        check_key_bits(bits, insecure_small_key=insecure_small_key)
        for name in (PUBLIC_KEY_FILE, PRIVATE_KEY_FILE):
            if (out / name).exists():
                raise FileExistsError(f"{out / name} already exists; refusing to overwrite")
        with console.status(f"generating a {bits}-bit Paillier key pair..."):
            pub, priv = generate_keypair(bits, insecure_small_key=insecure_small_key)
        pub_path, priv_path = write_keypair(out, pub, priv)
    except (ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    for label, value in (
        ("fingerprint", fingerprint(pub)),
        ("bits", str(bits)),
        ("public key (coordinator + members)", str(pub_path)),
        ("private key (members only, mode 0600)", str(priv_path)),
    ):
        console.print(f"[bold]{label}:[/bold] {value}", soft_wrap=True)
    if bits < 2048:
        console.print("[bold red]INSECURE: key below 2048 bits, for tests only[/bold red]")


@ledger_app.command("budget")
def budget(
    ledger: Path = typer.Option(..., "--ledger", help="The member's ledger file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show spent and remaining epsilon per dataset in a member's privacy ledger."""
    try:
        rows = BudgetLedger(ledger, create=False).summary()
    except (OSError, ValueError, sqlite3.DatabaseError) as exc:
        raise _fail(f"{ledger}: {exc}") from None
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in rows], indent=2))
        return
    table = Table(title=f"privacy budget: {ledger}")
    for col in ("dataset", "budget eps", "delta", "spent eps", "remaining eps", "charges"):
        if col == "dataset":
            table.add_column(col, overflow="fold")
        else:
            table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            r.dataset,
            f"{r.budget.epsilon:.4f}" if r.budget else "unset",
            f"{r.budget.delta:g}" if r.budget else "-",
            f"{r.spent:.4f}",
            f"{r.remaining:.4f}" if r.remaining is not None else "-",
            str(r.charges),
        )
    console.print(table)
