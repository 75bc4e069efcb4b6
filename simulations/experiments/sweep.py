"""``fedcredit sim sweep``: privacy/utility grid over epsilon, members, partition, model and
encryption, repeated over seeds, next to centralised and local-only baselines.

Every cell is one real federated training on Flower's simulation engine
(:func:`simulations.experiments.cells.run_federation`). Finished cells are appended to
``OUT/results.csv`` atomically, one row per cell and seed; a restarted sweep (after a kill, a
crash, or with a row deleted) reads that file and runs only the missing cells. ``OUT`` is bound
to its config by a fingerprint in ``OUT/experiment.json``: resuming with a different config is
refused rather than mixing results.

Summary per grid point (seeds pooled): mean and 95% Student-t interval of ROC AUC and KS, the
epsilon actually spent (max over members, from the attestations), centralised and local-only
AUC on the same splits, and the utility gap to the non-private cell with the same members,
partition and model — as a difference of means and paired by seed (same split and holdout) with
its 95% interval.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulations.experiments.cells import Prepared, baseline_aucs, prepare, run_federation
from simulations.experiments.grid import Cell, ExperimentConfig, sweep_cells
from simulations.experiments.progress import CellProgress
from simulations.experiments.ray_runtime import experiment_ray
from simulations.experiments.results import (
    append_row,
    as_float,
    bind_out,
    mean_ci,
    read_rows,
    run_record,
    write_summary,
)

COLUMNS: tuple[str, ...] = (
    "cell_id", "epsilon", "members", "partition", "model", "encryption", "seed",
    "graph_features", "auc", "ks", "brier", "auc_exact", "epsilon_spent", "centralised_auc",
    "local_only_auc", "rounds_completed", "seconds_per_round", "bytes_per_member_per_round",
    "wall_seconds", "status",
)  # fmt: skip
RESULTS = "results.csv"


@dataclass(frozen=True)
class SweepOutcome:
    """What one invocation did: cells it ran and cells it found already finished."""

    executed: list[str]
    skipped: list[str]
    summary: dict[str, Any]


BaselineKey = tuple[int, str, str, int, str]


def cell_row(
    cfg: ExperimentConfig,
    cell: Cell,
    prepared: Prepared,
    out: Path,
    baselines: dict[BaselineKey, dict[str, float]] | None = None,
) -> dict[str, Any]:
    """Run one cell and return its ``results.csv`` row.

    The centralised and local-only references depend on the split, model and seed only (not
    on epsilon or encryption): ``baselines`` caches them across the cells of one sweep.
    """
    fed = run_federation(cfg, cell, prepared, out / "cells" / "running")
    base = {"centralised_auc": math.nan, "local_only_auc": math.nan}
    if cfg.federation.baselines:
        cache = {} if baselines is None else baselines
        key = (cell.members, cell.partition, cell.model, cell.seed, cell.graph_features)
        if key not in cache:
            cache[key] = baseline_aucs(fed, cfg.federation.rounds)
        base = cache[key]
    eps = fed.privacy["epsilon"]
    return {
        "cell_id": cell.label(),
        "epsilon": cell.epsilon,
        "members": len(fed.parts),
        "partition": cell.partition,
        "model": cell.model,
        "encryption": fed.privacy["encryption"],
        "seed": cell.seed,
        "graph_features": cell.graph_features,
        "auc": fed.fed["auc"],
        "ks": fed.fed["ks"],
        "brier": fed.fed["brier"],
        "auc_exact": fed.fed["auc_exact_pooled"],
        "epsilon_spent": math.inf if eps is None else float(eps),
        **base,
        "rounds_completed": fed.fed["rounds_completed"],
        "seconds_per_round": fed.fed["seconds_per_round"],
        "bytes_per_member_per_round": fed.fed["bytes_up_per_member_per_round"],
        "wall_seconds": fed.wall_seconds,
        "status": fed.fed["status"],
    }


def summarise(rows: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
    """Per grid point: mean and 95% interval over seeds, baselines, gap to non-private."""
    groups: dict[tuple[str, ...], list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        key = (r["epsilon"], r["members"], r["partition"], r["model"], r["encryption"])
        groups[key].append(r)
    out = []
    seed_auc: dict[int, dict[int, float]] = {}  # id(entry) -> AUC per seed
    for (eps, members, partition, model, enc), rs in groups.items():
        entry: dict[str, Any] = {
            "epsilon": as_float(eps),
            "members": int(members),
            "partition": partition,
            "model": model,
            "encryption": enc,
            "n": len(rs),
            "seeds": sorted(int(r["seed"]) for r in rs),
        }
        for metric in ("auc", "ks", "epsilon_spent", "centralised_auc", "local_only_auc"):
            m, lo, hi = mean_ci(as_float(r[metric]) for r in rs)
            entry[f"{metric}_mean"] = m
            if metric in ("auc", "ks"):
                entry[f"{metric}_ci95"] = [lo, hi]
        seed_auc[id(entry)] = {int(r["seed"]): as_float(r["auc"]) for r in rs}
        out.append(entry)
    for e in out:
        ref = [
            o
            for o in out
            if math.isinf(o["epsilon"])
            and (o["members"], o["partition"], o["model"])
            == (e["members"], e["partition"], e["model"])
        ]
        best = max((o["auc_mean"] for o in ref), default=math.nan)
        e["gap_to_non_private"] = best - e["auc_mean"]
        # Paired by seed (same split, same holdout): the non-private cell of the same encryption
        # when the grid has one, else the best non-private group; its 95% interval over seeds.
        same = [o for o in ref if o["encryption"] == e["encryption"]]
        pick = same[0] if same else max(ref, key=lambda o: o["auc_mean"]) if ref else None
        diffs = []
        if pick is not None:
            mine, theirs = seed_auc[id(e)], seed_auc[id(pick)]
            diffs = [theirs[s] - mine[s] for s in sorted(mine) if s in theirs]
        m, lo, hi = mean_ci(diffs) if diffs else (math.nan, math.nan, math.nan)
        e["gap_paired_mean"], e["gap_paired_ci95"], e["gap_paired_n"] = m, [lo, hi], len(diffs)
    return sorted(
        out, key=lambda e: (e["partition"], e["members"], e["model"], e["encryption"], e["epsilon"])
    )


def run_sweep(
    cfg: ExperimentConfig,
    out: Path,
    *,
    show_progress: bool = True,
    on_cell: Callable[[str], None] | None = None,
) -> SweepOutcome:
    """Run every missing cell of the grid; write results, summary, plots and report."""
    from simulations.experiments.report_exp import write_sweep_report

    bind_out(cfg, out, "sweep")
    cells = sweep_cells(cfg)
    finished = {r["cell_id"] for r in read_rows(out / RESULTS)}
    todo = [c for c in cells if c.label() not in finished]
    skipped = [c.label() for c in cells if c.label() in finished]
    executed: list[str] = []
    prepared: dict[str, Prepared] = {}
    baselines: dict[BaselineKey, dict[str, float]] = {}
    with (
        CellProgress(len(cells), cfg.federation.rounds, enabled=show_progress) as bar,
        experiment_ray(cfg, needed=bool(todo)) as live,
    ):
        bar.skip(len(skipped))
        for cell in todo:
            bar.start(cell.label(), out / "cells" / "running" / "runstore.sqlite")
            if cell.graph_features not in prepared:
                prepared[cell.graph_features] = prepare(cfg, out, cell.graph_features)
            row = cell_row(live, cell, prepared[cell.graph_features], out, baselines)
            append_row(out / RESULTS, row, COLUMNS)
            executed.append(cell.label())
            if on_cell is not None:
                on_cell(cell.label())
            bar.done()
    rows = [r for r in read_rows(out / RESULTS) if r["cell_id"] in {c.label() for c in cells}]
    summary = {
        "experiment": "sweep",
        "name": cfg.name,
        "config_fingerprint": cfg.fingerprint(),
        "rounds": cfg.federation.rounds,
        "delta": cfg.federation.delta,
        "cells": summarise(rows),
        **run_record(cfg.data.describe(), cfg.seeds),
    }
    write_summary(out / "summary.json", summary)
    write_sweep_report(out, summary)
    return SweepOutcome(executed=executed, skipped=skipped, summary=summary)
