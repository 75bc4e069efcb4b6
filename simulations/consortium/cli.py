"""`fedcredit sim generate`: write a synthetic consortium to disk.

Example::

    fedcredit sim generate --companies 20000 --members 5 --seed 7 --out data/consortium
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from simulations.consortium.config import STAGES, Consortium, ConsortiumConfig
from simulations.consortium.generator import generate_consortium
from simulations.consortium.writer import output_files, write_consortium

app = typer.Typer(help="Synthetic consortium generator.", no_args_is_help=True)


def _fail(console: Console, message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


@app.command("generate")
def generate(
    companies: int = typer.Option(20_000, "--companies", help="Companies in the registry."),
    members: int = typer.Option(5, "--members", help="Alliance members (lenders), >= 2."),
    seed: int = typer.Option(0, "--seed", help="Root random seed (>= 0)."),
    out: Path = typer.Option(..., "--out", help="Output directory (created atomically)."),
    scoring_date: str = typer.Option(
        "2026-06-30", "--scoring-date", help="ISO date; labels are defaults in the 6 months after."
    ),
    graph_effect: float = typer.Option(
        1.0, "--graph-effect", help="Strength of the graph terms in the label model (0 = none)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --out."),
) -> None:
    """Generate companies, persons, shareholdings, guarantees, defaults and member tables."""
    console = Console()
    err = Console(stderr=True)
    try:
        when = date.fromisoformat(scoring_date)
    except ValueError:
        raise _fail(
            err, f"--scoring-date must be an ISO date YYYY-MM-DD; got {scoring_date!r}"
        ) from None
    try:
        config = ConsortiumConfig(
            n_companies=companies,
            n_members=members,
            seed=seed,
            scoring_date=when,
            graph_effect=graph_effect,
        )
    except ValueError as exc:
        raise _fail(err, str(exc)) from None
    if out.exists() and not out.is_dir():
        raise _fail(err, f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise _fail(err, f"--out {out} exists and is not empty (pass --overwrite to replace it)")

    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks: dict[str, TaskID] = {s: progress.add_task(s, total=1) for s in STAGES}
        consortium = generate_consortium(config, progress=lambda s: progress.advance(tasks[s]))
        files = progress.add_task("writing", total=len(output_files(consortium)))
        try:
            write_consortium(
                consortium, out, overwrite=overwrite, on_file=lambda _p: progress.advance(files)
            )
        except OSError as exc:
            raise _fail(err, f"could not write {out}: {exc}") from None
    console.print(_summary(consortium, out, time.perf_counter() - started))


def _summary(consortium: Consortium, out: Path, seconds: float) -> Table:
    counts = consortium.counts()
    table = Table(title=f"consortium written to {out} in {seconds:.1f} s", show_lines=False)
    table.add_column("item")
    table.add_column("value", justify="right")
    rows = [
        ("companies", counts["companies"]),
        ("persons", counts["persons"]),
        ("shareholdings", counts["shareholdings"]),
        ("guarantees", counts["guarantees"]),
        ("controller groups", counts["controller_groups"]),
        ("guarantee circles planted", counts["guarantee_circles"]),
        ("  of which mutual (length 2)", counts["mutual_guarantees"]),
        ("guarantee chains planted", counts["guarantee_chains"]),
        ("cross-holding cycles planted", counts["cross_holdings"]),
        ("observed defaults", counts["defaults"]),
        ("scored companies", counts["scored_companies"]),
    ]
    for name, value in rows:
        table.add_row(name, f"{value:,}")
    for mid, stats in consortium.member_stats().items():
        rate = stats["positives"] / max(1, stats["rows"])
        text = f"{stats['rows']:,} rows, {stats['positives']:,} positives ({rate:.1%})"
        table.add_row(f"member {mid}", text)
    return table
