"""Run one experiment cell: a real federated training on Flower's simulation engine.

Reuses the ``fedcredit sim run`` machinery (:mod:`simulations.experiments.simrun`): rows are
loaded and validated once per experiment (:class:`Prepared`), every cell then partitions them,
holds the key ceremony, runs the ServerApp and ClientApps on Flower's Ray backend with the
experiment's resources, and decodes the stored aggregates as a key holder. The cell's work
folder (partitions, keys, ledgers, run store) is removed afterwards unless asked to keep it:
nothing secret outlives the cell.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from flwr.clientapp import ClientApp
from flwr.serverapp import ServerApp
from torch import nn

from coordinator.state import RunStore
from participant_node.config import MemberConfig
from participant_node.data import Contract
from participant_node.model import ModelSpec, TrainSettings, build_from_spec, set_flat
from participant_node.partition import MemberPartition, save_partition, write_manifest
from simulations.engine import run_simulation
from simulations.experiments import baselines
from simulations.experiments.grid import Cell, ExperimentConfig, parse_model
from simulations.experiments.simrun import (
    SimRunConfig,
    decode_federation,
    key_ceremony,
    key_holder_codecs,
    load_rows,
    partition_rows,
    privacy_report,
    run_config,
)


@dataclass(frozen=True)
class Prepared:
    """Validated rows of the experiment's data set (with graph features when asked for)."""

    df: pd.DataFrame
    contract: Contract
    consortium: Path | None
    data: Path | None


def consortium_dir(cfg: ExperimentConfig, out: Path) -> Path:
    """The synthetic consortium: ``[data] path`` if given, else generated into ``OUT/consortium``
    (deterministic from ``data_seed``; reused when already there)."""
    d = cfg.data
    if d.path is not None:
        return d.path
    target = out / "consortium"
    if not (target / "consortium.json").is_file():
        from simulations.consortium import ConsortiumConfig, generate_consortium, write_consortium

        consortium = generate_consortium(
            ConsortiumConfig(
                n_companies=d.companies,
                n_members=d.consortium_members,
                seed=d.data_seed,
                graph_effect=d.graph_effect,
            )
        )
        write_consortium(consortium, target)
    return target


def sim_config(
    cfg: ExperimentConfig, cell: Cell, out: Path, consortium: Path | None
) -> SimRunConfig:
    """The ``fedcredit sim run`` config of one cell (``out``: its work folder)."""
    kind, hidden = parse_model(cell.model)
    f = cfg.federation
    csv = cfg.data.source == "csv"
    return SimRunConfig(
        out=out,
        label=cfg.data.label,
        positive=cfg.data.positive,
        data=cfg.data.path if csv else None,
        consortium=None if csv else consortium,
        contract=cfg.data.contract,
        members=cell.members,
        partition=cell.partition,
        rounds=f.rounds,
        seed=cell.seed,
        model=kind,
        mlp_hidden=hidden,
        local_epochs=f.local_epochs,
        batch_size=f.batch_size,
        learning_rate=f.learning_rate,
        baselines=False,
        encryption=cell.encryption,
        insecure_plaintext=cell.encryption == "none",  # listed explicitly in the config
        graph_features=cell.graph_features,
        dp=cell.private,
        epsilon=cell.epsilon if cell.private else 3.0,
        delta=f.delta,
        clip_norm=f.clip_norm,
        key_bits=f.key_bits,
    )


def prepare(cfg: ExperimentConfig, out: Path, graph_features: str = "none") -> Prepared:
    """Load and validate the rows once (contract inferred into ``OUT/contract.toml``)."""
    out.mkdir(parents=True, exist_ok=True)
    probe = Cell(1.0, 2, "iid", "logistic", "none", 0, graph_features)
    consortium = consortium_dir(cfg, out) if cfg.data.source == "consortium" else None
    sim = sim_config(cfg, probe, out, consortium)
    df, contract = load_rows(sim)
    return Prepared(df=df, contract=contract, consortium=sim.consortium, data=sim.data)


@dataclass
class Federation:
    """What one federated training produced (as a key holder reads it back)."""

    cell: Cell
    parts: list[MemberPartition]
    train_rows: list[np.ndarray]
    holdout_rows: list[np.ndarray]
    model: nn.Module
    fed: dict[str, Any]
    privacy: dict[str, Any]
    settings: TrainSettings
    spec: ModelSpec
    wall_seconds: float
    checkpoints: list[dict[str, Any]]


def _max_members(n: int) -> int:
    return max(64, 1 << math.ceil(math.log2(max(n, 2))))


def run_federation(
    cfg: ExperimentConfig,
    cell: Cell,
    prepared: Prepared,
    work: Path,
    *,
    extra_run_config: dict[str, str | int | float | bool] | None = None,
    client_app: ClientApp | None = None,
    server_app: ServerApp | None = None,
    keep: bool = False,
) -> Federation:
    """Train ``cell`` on Flower's simulation engine; decode its final model and metrics."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sim = sim_config(cfg, cell, work, prepared.consortium)
    try:
        parts, train_rows, hold_rows = partition_rows(sim, prepared.df, prepared.contract)
        parts_dir = work / "partitions"
        for p in parts:
            save_partition(p, parts_dir)
        write_manifest(parts_dir, [p.member_id for p in parts])
        key_ceremony(sim, parts_dir)
        run_id = "exp-" + hashlib.sha256(cell.label().encode()).hexdigest()[:12]
        rc = run_config(sim, parts_dir, run_id)
        rc["max-members"] = _max_members(len(parts))
        rc.update(extra_run_config or {})
        t0 = time.perf_counter()
        run_simulation(
            rc,
            len(parts),
            work / "flwr-app",
            cpus_per_member=cfg.ray.cpus_per_member,
            ray_init_args=cfg.ray.init_args(os.cpu_count() or 1),
            client_app=client_app,
            server_app=server_app,
        )
        wall = time.perf_counter() - t0
        store_path = work / "runstore.sqlite"
        codecs = key_holder_codecs(sim, parts_dir, rc)
        fed = decode_federation(sim, store_path, run_id, parts, codecs)
        spec = ModelSpec(kind=sim.model, n_features=parts[0].n_features, hidden=sim.mlp_hidden)
        model = build_from_spec(spec, seed=sim.seed)
        with RunStore(store_path) as store:
            trains = store.checkpoints(run_id, "train")
            evals = store.checkpoints(run_id, "evaluate")
        set_flat(model, codecs.update.decode(trains[-1].payload).mean())
        checkpoints = [
            {
                "round": c.round,
                "phase": c.phase,
                "seconds": c.seconds,
                "bytes_up": c.bytes_up,
                "members": len(c.members),
            }
            for c in [*trains, *evals]
        ]
        privacy = privacy_report(sim, store_path, run_id)
        settings = MemberConfig.from_run_config(rc).train
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return Federation(
        cell, parts, train_rows, hold_rows, model, fed, privacy, settings, spec, wall, checkpoints
    )


def baseline_aucs(fed: Federation, rounds: int) -> dict[str, float]:
    """Centralised and mean local-only AUC on the same splits (non-private references)."""
    cen = baselines.centralised(
        fed.spec, fed.parts, fed.settings, rounds, model_seed=fed.cell.seed, seed=fed.cell.seed
    )
    loc = baselines.local_only(
        fed.spec, fed.parts, fed.settings, rounds, model_seed=fed.cell.seed, seed=fed.cell.seed
    )
    return {
        "centralised_auc": float(cen.auc[-1]),
        "local_only_auc": float(np.nanmean([c.auc[-1] for c in loc.values()])),
    }
