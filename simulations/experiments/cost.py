"""``fedcredit sim cost``: seconds per round and bytes per member per round vs members and model
size, with the DP-SGD / encryption breakdown and the engine's marginal cost per member.

Every run is a private federation (DP-SGD at ``[cost] epsilon`` and packed Paillier) on Flower's
simulation engine whose ClientApp is the member's own, wrapped with a stopwatch
(:mod:`.timed_app`). Per training round and member:

- ``train_ms``: DP-SGD inside the member (reported by the member);
- ``encrypt_ms``: encoding + Paillier encryption of the update (reported by the member);
- ``member_other_ms``: the rest of the member's train handler (decrypting the aggregate);
- ``evaluate_ms``: the member's evaluate handler (decrypt, score the holdout, encrypt the
  label-split histograms);
- ``engine_ms``: everything else per member, i.e.
  ``(round wall time - sum of member handler times / P) / members`` where ``P`` is the number
  of Ray workers running members in parallel; it includes Flower's message passing, the
  coordinator's checks and homomorphic sums and the run store. Rounds after the first are used
  (round 1 also starts the Ray workers and imports torch).

``engine_ms`` includes per-round fixed latencies (polling intervals) spread over the members;
the **marginal** engine cost per member is the least-squares slope of the engine seconds per
round against the member count (``summary.json: marginal_engine_ms_per_member``).
Flower's bare engine is measured the same way in the same invocation: a no-op ClientApp under
plain FedAvg at the smallest and the largest member count (round wall time; its slope).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from participant_node.model import build_from_spec, num_parameters
from simulations.engine import run_simulation
from simulations.experiments.cells import Federation, Prepared, prepare, run_federation
from simulations.experiments.grid import Cell, ExperimentConfig
from simulations.experiments.progress import CellProgress
from simulations.experiments.ray_runtime import experiment_ray
from simulations.experiments.results import (
    append_row,
    as_float,
    bind_out,
    read_rows,
    run_record,
    write_summary,
)

COLUMNS: tuple[str, ...] = (
    "cell_id", "members", "model", "parameters", "seed", "rounds", "wall_seconds",
    "seconds_per_round", "bytes_per_member_per_round", "train_ms", "encrypt_ms",
    "member_other_ms", "evaluate_ms", "engine_ms", "engine_round_seconds", "parallel_workers",
    "auc", "epsilon_spent",
)  # fmt: skip


@dataclass(frozen=True)
class CostSettings:
    """The ``[cost]`` table."""

    members: tuple[int, ...] = (10, 50, 100, 200)
    models: tuple[str, ...] = ("logistic",)
    epsilon: float = 3.0
    partition: str = "iid"
    bare_engine: bool = True
    model_size_members: tuple[int, ...] = ()

    def cells(self, seed: int) -> list[Cell]:
        """The first model at every member count; the others at ``model_size_members`` (all
        counts when empty)."""
        out = []
        for i, model in enumerate(self.models):
            counts = (
                self.members if i == 0 or not self.model_size_members else self.model_size_members
            )
            out += [Cell(self.epsilon, k, self.partition, model, "paillier", seed) for k in counts]
        return out

    @classmethod
    def from_section(cls, doc: dict[str, Any]) -> CostSettings:
        """Validate the table; unknown keys are named."""
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - allowed)
        if unknown:
            raise ValueError(f"[cost] unknown keys {unknown}; allowed: {sorted(allowed)}")
        doc = {k: tuple(v) if isinstance(v, list) else v for k, v in doc.items()}
        out = cls(**doc)
        if not out.members or min(out.members) < 2:
            raise ValueError(f"[cost] members must list counts >= 2; got {list(out.members)}")
        if not out.epsilon > 0 or math.isinf(out.epsilon):
            raise ValueError(f"[cost] epsilon must be finite and > 0; got {out.epsilon}")
        return out


def parallel_workers(cfg: ExperimentConfig, members: int) -> int:
    """Ray workers that run members at the same time on this machine."""
    cpus = cfg.ray.num_cpus or (os.cpu_count() or 1)
    return max(1, min(members, int(cpus // cfg.ray.cpus_per_member)))


def breakdown(fed: Federation, timings: list[dict[str, Any]], workers: int) -> dict[str, float]:
    """Per member and training round, in ms (rounds >= 2 when there are several)."""
    rounds = sorted({c["round"] for c in fed.checkpoints})
    use = [r for r in rounds if r >= 2] or rounds
    n = len(fed.parts)
    wall = {r: sum(c["seconds"] for c in fed.checkpoints if c["round"] == r) for r in use}
    per: dict[str, list[float]] = {k: [] for k in ("train", "encrypt", "other", "eval", "eng")}
    for r in use:
        rows = [t for t in timings if t["round"] == r]
        handler = sum(t["seconds"] for t in rows)
        fit = sum(t["seconds"] for t in rows if t["phase"] == "train")
        train = sum(t["train"] for t in rows)
        enc = sum(t["encrypt"] for t in rows)
        per["train"].append(train / n)
        per["encrypt"].append(enc / n)
        per["other"].append((fit - train - enc) / n)
        per["eval"].append((handler - fit) / n)
        per["eng"].append(wall[r] - handler / workers)
    engine_round = float(np.mean(per["eng"]))
    return {
        "train_ms": 1e3 * float(np.mean(per["train"])),
        "encrypt_ms": 1e3 * float(np.mean(per["encrypt"])),
        "member_other_ms": 1e3 * float(np.mean(per["other"])),
        "evaluate_ms": 1e3 * float(np.mean(per["eval"])),
        "engine_ms": 1e3 * engine_round / n,
        "engine_round_seconds": engine_round,
        "seconds_per_round": float(np.mean(list(wall.values()))),
    }


def slope_ms(members: list[float], seconds: list[float]) -> float:
    """Least-squares slope of seconds per round vs members, in ms per member (NaN for fewer
    than two distinct member counts).

    >>> round(slope_ms([10, 20, 30], [1.0, 1.1, 1.2]), 3)
    10.0
    """
    if len(set(members)) < 2:
        return math.nan
    return 1e3 * float(np.polyfit(np.asarray(members, float), np.asarray(seconds, float), 1)[0])


def cost_cell(cfg: ExperimentConfig, cell: Cell, prepared: Prepared, out: Path) -> dict[str, Any]:
    """One timed private federation; its ``results.csv`` row."""
    from simulations.experiments.timed_app import timed_app

    log = out / "cells" / f"timing-{os.getpid()}.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    t0 = time.perf_counter()
    fed = run_federation(
        cfg,
        cell,
        prepared,
        out / "cells" / "running",
        extra_run_config={"timing-log": str(log.resolve())},
        client_app=timed_app,
    )
    wall = time.perf_counter() - t0
    timings = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    log.unlink()
    workers = parallel_workers(cfg, len(fed.parts))
    parts = breakdown(fed, timings, workers)
    return {
        "cell_id": cell.label(),
        "members": len(fed.parts),
        "model": cell.model,
        "parameters": num_parameters(build_from_spec(fed.spec, seed=0)),
        "seed": cell.seed,
        "rounds": fed.fed["rounds_completed"],
        "wall_seconds": wall,
        "bytes_per_member_per_round": fed.fed["bytes_up_per_member_per_round"],
        "parallel_workers": workers,
        "auc": fed.fed["auc"],
        "epsilon_spent": fed.privacy["epsilon"],
        **parts,
    }


def bare_engine(cfg: ExperimentConfig, members: int, rounds: int, out: Path) -> dict[str, Any]:
    """Flower's engine alone: no-op ClientApp, FedAvg, ``members`` nodes."""
    from simulations.experiments.bare_app import noop_client, noop_server

    work = out / "cells" / "bare"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "rounds.jsonl"
    rc: dict[str, str | int | float | bool] = {
        "num-server-rounds": rounds,
        "nodes": members,
        "timing-log": str(log.resolve()),
    }
    t0 = time.perf_counter()
    run_simulation(
        rc,
        members,
        work / "flwr-app",
        cpus_per_member=cfg.ray.cpus_per_member,
        ray_init_args=cfg.ray.init_args(os.cpu_count() or 1),
        client_app=noop_client,
        server_app=noop_server,
    )
    wall = time.perf_counter() - t0
    stamps = sorted((r["round"], r["t"]) for r in map(json.loads, log.read_text().splitlines()))
    shutil.rmtree(work, ignore_errors=True)
    times = np.diff([t for _, t in stamps])
    use = times[1:] if len(times) > 1 else times
    return {
        "members": members,
        "rounds": rounds,
        "wall_seconds": wall,
        "seconds_per_round": float(np.mean(use)),
        "engine_ms": 1e3 * float(np.mean(use)) / members,
    }


def run_cost(cfg: ExperimentConfig, out: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Every (members, model) not yet in ``results.csv``, the bare engine, summary, report."""
    from simulations.experiments.report_exp import write_cost_report

    settings = CostSettings.from_section(cfg.section("cost"))
    bind_out(cfg, out, "cost")
    seed = cfg.seeds[0]
    cells = settings.cells(seed)
    done = {r["cell_id"] for r in read_rows(out / "results.csv")}
    total = len(cells) + int(settings.bare_engine)
    with (
        CellProgress(total, cfg.federation.rounds, enabled=show_progress) as bar,
        experiment_ray(cfg) as live,
    ):
        bar.skip(sum(c.label() in done for c in cells))
        prepared: Prepared | None = None
        for cell in cells:
            if cell.label() in done:
                continue
            bar.start(cell.label(), out / "cells" / "running" / "runstore.sqlite")
            prepared = prepared or prepare(cfg, out)
            append_row(out / "results.csv", cost_cell(live, cell, prepared, out), COLUMNS)
            bar.done()
        bare: list[dict[str, Any]] = []
        if settings.bare_engine:
            for k in sorted({min(settings.members), max(settings.members)}):
                bar.start(f"Flower bare engine, {k} members")
                bare.append(bare_engine(live, k, cfg.federation.rounds, out))
            bar.done()
    rows = [r for r in read_rows(out / "results.csv") if r["cell_id"] in {c.label() for c in cells}]
    ints = ("members", "parameters", "bytes_per_member_per_round", "parallel_workers", "seed")
    runs: list[dict[str, Any]] = [
        {
            k: (v if k in ("cell_id", "model") else int(v) if k in ints else as_float(v))
            for k, v in r.items()
        }
        for r in rows
    ]
    first = [r for r in runs if r["model"] == settings.models[0]]
    summary = {
        "experiment": "cost",
        "name": cfg.name,
        "config_fingerprint": cfg.fingerprint(),
        "rounds": cfg.federation.rounds,
        "key_bits": cfg.federation.key_bits,
        "epsilon": settings.epsilon,
        "ray": {
            "cpus_per_member": cfg.ray.cpus_per_member,
            "num_cpus": cfg.ray.num_cpus or os.cpu_count(),
            "address": cfg.ray.address or "local",
        },
        "runs": runs,
        "marginal_engine_ms_per_member": slope_ms(
            [r["members"] for r in first], [r["engine_round_seconds"] for r in first]
        ),
        "bare_engine": bare,
        "bare_engine_marginal_ms_per_member": slope_ms(
            [b["members"] for b in bare], [b["seconds_per_round"] for b in bare]
        ),
        **run_record(cfg.data.describe(), cfg.seeds),
    }
    write_summary(out / "summary.json", summary)
    write_cost_report(out, summary)
    return summary
