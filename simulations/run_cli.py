"""``fedcredit sim run`` and ``fedcredit demo``: the researcher's federated run and the main job."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from simulations.experiments.progress import rounds_done
from simulations.experiments.simrun_config import SimRunConfig

console = Console()


def run_with_progress(cfg: SimRunConfig) -> dict[str, Any]:
    """Run the simulation with a rich progress bar that follows the run store."""
    from simulations.experiments.simrun import run  # torch, Flower: only when running

    store = cfg.out / "runstore.sqlite"
    if store.exists():
        store.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    done = threading.Event()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        stage = bar.add_task("preparing", total=None)
        rounds = bar.add_task("federated rounds", total=cfg.rounds, visible=False)

        def follow() -> None:
            while not done.wait(0.5):
                n = rounds_done(store)
                if n:
                    bar.update(rounds, completed=n, visible=True)

        watcher = threading.Thread(target=follow, daemon=True)
        watcher.start()
        try:
            report = run(cfg, progress=lambda msg: bar.update(stage, description=msg))
        finally:
            done.set()
            watcher.join()
        bar.update(rounds, completed=rounds_done(store), visible=True)
        bar.update(stage, description="done", total=1, completed=1)
    return report


def summary_table(report: dict[str, Any]) -> Table:
    """The final table printed after a run."""
    fed = report["federated"]
    priv = report["privacy"]
    dp = f"DP epsilon {priv['epsilon']:.2f}" if priv["dp"] else "no DP"
    table = Table(
        title=f"fedcredit: {len(report['members'])} members, {fed['rounds_completed']} rounds, "
        f"{priv['encryption']}, {dp}"
    )
    for col in ("model", "ROC AUC", "KS", "Brier"):
        table.add_column(col, justify="right" if col != "model" else "left")
    table.add_row("federated", f"{fed['auc']:.4f}", f"{fed['ks']:.4f}", f"{fed['brier']:.4f}")
    if "centralized" in report:
        cen = report["centralized"]
        table.add_row("centralised (pooled)", f"{cen['auc']:.4f}", f"{cen['ks']:.4f}", "")
        table.add_row("local-only (mean)", f"{report['local_only']['auc_mean']:.4f}", "", "")
    return table


def _fail(msg: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {msg}")
    return typer.Exit(code=1)


def sim_run(
    out: Path = typer.Option(..., "--out", help="Output folder for report.json, plots, run store."),
    label: str = typer.Option("default_6m", "--label", help="Label column."),
    positive: str = typer.Option("1", "--positive", help="Label value meaning default."),
    data: Path | None = typer.Option(None, "--data", help="One CSV with all rows."),
    consortium: Path | None = typer.Option(None, "--consortium", help="Consortium folder."),
    contract: Path | None = typer.Option(None, "--contract", help="Data contract TOML."),
    members: int = typer.Option(5, "--members", help="Members (ignored for --partition member)."),
    partition: str | None = typer.Option(
        None, "--partition", help="column:NAME | dirichlet:ALPHA | iid | member"
    ),
    rounds: int = typer.Option(20, "--rounds"),
    seed: int = typer.Option(42, "--seed"),
    model: str = typer.Option("logistic", "--model", help="logistic | mlp"),
    local_epochs: int = typer.Option(1, "--local-epochs"),
    batch_size: int = typer.Option(256, "--batch-size"),
    learning_rate: float = typer.Option(0.1, "--learning-rate"),
    with_baselines: bool = typer.Option(
        False,
        "--baselines",
        help="Also train centralised and local-only baselines on the same splits.",
    ),
    encryption: str = typer.Option("paillier", "--encryption", help="paillier | none"),
    insecure_plaintext: bool = typer.Option(
        False, "--insecure-plaintext", help="Explicit opt-out: send updates in the clear."
    ),
    encoding: str | None = typer.Option(None, "--encoding", help="CSV text encoding, e.g. gbk."),
    epsilon: float = typer.Option(3.0, "--epsilon", help="DP budget per member for the run."),
    delta: float = typer.Option(1e-5, "--delta", help="DP delta."),
    no_dp: bool = typer.Option(False, "--no-dp", help="Explicit opt-out: train without DP-SGD."),
    clip_norm: float = typer.Option(3.0, "--clip-norm", help="DP-SGD per-example clip norm."),
    weighting: str = typer.Option(
        "auto",
        "--weighting",
        help="Update weights: auto (dp-noise under DP, else rows) | rows | dp-noise.",
    ),
    key_bits: int = typer.Option(3072, "--key-bits", help="Paillier key size (>= 2048)."),
    graph_features: str = typer.Option(
        "none",
        "--graph-features",
        help="Join relationship-graph features by company_id: none | auto (compute from the "
        "consortium's registry CSVs) | PATH to a published .parquet/.csv table.",
    ),
) -> None:
    """Federated training on Flower's simulation engine, with optional baselines."""
    try:
        cfg = SimRunConfig(
            out=out,
            label=label,
            positive=positive,
            data=data,
            consortium=consortium,
            contract=contract,
            members=members,
            partition=partition or ("member" if consortium else "iid"),
            rounds=rounds,
            seed=seed,
            model=model,
            local_epochs=local_epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            baselines=with_baselines,
            encryption=encryption,
            insecure_plaintext=insecure_plaintext,
            encoding=encoding,
            graph_features=graph_features,
            dp=not no_dp,
            epsilon=epsilon,
            delta=delta,
            clip_norm=clip_norm,
            weighting=weighting,
            key_bits=key_bits,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    execute(cfg)


def execute(cfg: SimRunConfig) -> None:
    """Run ``cfg`` with progress, print the summary table; a clear one-line error on failure."""
    try:
        report = run_with_progress(cfg)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        raise _fail(str(exc)) from None
    console.print(summary_table(report))
    console.print(f"report: {cfg.out / 'report.json'}  {cfg.out / 'report.md'}")


def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Output folder."),
    companies: int = typer.Option(20000, "--companies"),
    members: int = typer.Option(5, "--members"),
    rounds: int = typer.Option(15, "--rounds"),
    seed: int = typer.Option(42, "--seed"),
) -> None:
    """The main job: synthetic consortium -> federated training -> evaluation -> report."""
    from simulations.consortium.cli import generate

    t0 = time.perf_counter()
    consortium = out / "consortium"
    console.rule("1/2  synthetic consortium")
    generate(
        companies=companies,
        members=members,
        seed=seed,
        out=consortium,
        scoring_date="2026-06-30",
        graph_effect=1.0,
        overwrite=True,
    )
    console.rule("2/2  federated training on Flower")
    # everything else at the consortium defaults: DP (epsilon 3), 3072-bit packed Paillier
    execute(
        SimRunConfig(
            out=out / "run",
            label="default_6m",
            positive="1",
            consortium=consortium,
            members=members,
            partition="member",
            rounds=rounds,
            seed=seed,
            baselines=True,
            graph_features="auto",
        )
    )
    console.print(f"demo finished in {time.perf_counter() - t0:.0f} s")
