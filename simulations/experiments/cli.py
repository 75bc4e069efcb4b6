"""``fedcredit sim sweep|attack|ablation|cost --config exp.toml --out DIR``.

Each command reads one experiment file (``simulations/configs/*.toml``), runs on Flower's
simulation engine with the file's Ray resources, and writes ``DIR/results.csv``,
``DIR/summary.json``, a PNG plot and ``DIR/report.md``. Errors (bad config, missing data) are
one clear line and exit code 1.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from simulations.experiments.grid import ExperimentConfig, load_config

app = typer.Typer(help="Research experiments.", no_args_is_help=True)
console = Console()

CONFIG = typer.Option(..., "--config", help="Experiment TOML (see simulations/configs/).")
OUT = typer.Option(..., "--out", help="Output folder (a sweep resumes in it).")
QUIET = typer.Option(False, "--quiet", help="No progress bars.")


def _run(config: Path, out: Path, fn: Callable[[ExperimentConfig, Path, bool], Any]) -> None:
    t0 = time.perf_counter()
    try:
        cfg = load_config(config)
    except (ValueError, FileNotFoundError) as exc:
        console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(code=1) from None
    try:
        fn(cfg, out, True)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(code=1) from None
    console.print(
        f"{cfg.name}: done in {time.perf_counter() - t0:.0f} s; "
        f"{out / 'results.csv'}  {out / 'summary.json'}  {out / 'report.md'}"
    )


@app.command("sweep")
def sweep(config: Path = CONFIG, out: Path = OUT, quiet: bool = QUIET) -> None:
    """Privacy/utility grid (epsilon x members x partition x model x encryption x seeds);
    resumable: finished cells in DIR/results.csv are skipped."""
    from simulations.experiments.sweep import run_sweep

    def go(cfg: ExperimentConfig, o: Path, _: bool) -> None:
        res = run_sweep(cfg, o, show_progress=not quiet)
        console.print(f"ran {len(res.executed)} cells, skipped {len(res.skipped)} finished ones")

    _run(config, out, go)


@app.command("attack")
def attack(config: Path = CONFIG, out: Path = OUT, quiet: bool = QUIET) -> None:
    """Membership inference (loss-threshold, shadow models) vs epsilon, and the ciphertext-bytes
    classifier check."""
    from simulations.experiments.attack import run_attack

    _run(config, out, lambda c, o, _: run_attack(c, o, show_progress=not quiet))


@app.command("ablation")
def ablation(config: Path = CONFIG, out: Path = OUT, quiet: bool = QUIET) -> None:
    """With/without graph features and contagion overlay; isolate-the-top-k% capture."""
    from simulations.experiments.ablation import run_ablation

    _run(config, out, lambda c, o, _: run_ablation(c, o, show_progress=not quiet))


@app.command("cost")
def cost(config: Path = CONFIG, out: Path = OUT, quiet: bool = QUIET) -> None:
    """Seconds and bytes per round vs members and model size, with the DP/encryption breakdown
    and Flower's bare engine for comparison."""
    from simulations.experiments.cost import run_cost

    _run(config, out, lambda c, o, _: run_cost(c, o, show_progress=not quiet))
