"""``fedcredit sim ablation``: what the relationship graph buys, and the banks' "isolate the top
k%" metric.

Per seed, two real federations on Flower (same members, same splits): without and with the
relationship-graph feature table (``graph_features = "auto"``, computed from the consortium's
registry). Each final model is scored with and without the contagion overlay
(:func:`participant_node.scoring.contagion_overlay`):

    PD_final_i = 1 - (1 - PD_i) * prod_{j : i guarantees j} (1 - W * e_ij * PD_j)

with exposures the guarantees *in force* at the scoring date, share
``e_ij = min(1, amount_ij / total_assets_i)``, ``PD_j`` the model's PD of ``j`` (mean over the
members' rows of ``j``), ``1`` for a company with an observed default, and the mean model PD
for a company no member scores.

Evaluation universe: the companies in the members' pooled holdout (one entry per company: the
mean PD of its holdout rows; label ``default_6m``, the next-period default). Reported per
variant: company-level ROC AUC and the capture ``share of next-period defaults among the
riskiest k% of companies`` for each k (a random ranking captures k%).

Complexity: two federations per seed; the overlay is one sparse row-sum, O(companies + edges).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from participant_node.data import Preprocessor
from participant_node.model import predict_proba
from participant_node.scoring import contagion_overlay, exposure_matrix
from simulations.experiments.cells import Federation, Prepared, prepare, run_federation
from simulations.experiments.grid import Cell, ExperimentConfig, cell_members, parse_epsilon
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

VARIANTS = ("no graph", "no graph + overlay", "graph features", "graph features + overlay")


@dataclass(frozen=True)
class AblationSettings:
    """The ``[ablation]`` table."""

    epsilon: float = 3.0
    members: int = 5
    partition: str = "member"
    model: str = "logistic"
    encryption: str = "paillier"
    overlay_weight: float = 0.5
    top_k_percent: tuple[int, ...] = (1, 5, 10)

    @classmethod
    def from_section(cls, doc: dict[str, Any]) -> AblationSettings:
        """Validate the table; unknown keys are named."""
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - allowed)
        if unknown:
            raise ValueError(f"[ablation] unknown keys {unknown}; allowed: {sorted(allowed)}")
        doc = dict(doc)
        if "epsilon" in doc:
            doc["epsilon"] = parse_epsilon(doc["epsilon"], "ablation")
        if "top_k_percent" in doc:
            doc["top_k_percent"] = tuple(int(k) for k in doc["top_k_percent"])
        out = cls(**doc)
        if not 0 <= out.overlay_weight <= 1:
            raise ValueError(
                f"[ablation] overlay_weight must be in [0, 1]; got {out.overlay_weight}"
            )
        if not out.top_k_percent or not all(0 < k <= 100 for k in out.top_k_percent):
            raise ValueError(
                f"[ablation] top_k_percent must be in (0, 100]; got {out.top_k_percent}"
            )
        return out


def capture(pd_: np.ndarray, y: np.ndarray, k_percent: float) -> float:
    """Share of positives among the ``ceil(k% * n)`` highest scores.

    >>> capture(np.array([0.9, 0.1, 0.8, 0.2]), np.array([1, 0, 0, 1]), 50)
    0.5

    Complexity O(n log n).
    """
    if y.sum() == 0:
        return math.nan
    top = max(1, math.ceil(len(pd_) * k_percent / 100))
    order = np.argsort(-pd_, kind="stable")[:top]
    return float(y[order].sum() / y.sum())


@dataclass(frozen=True)
class Registry:
    """What the overlay needs from the consortium's registry files."""

    company_ids: np.ndarray
    guarantor: np.ndarray
    borrower: np.ndarray
    share: np.ndarray
    defaulted: set[str]


def read_registry(consortium: Path) -> Registry:
    """Companies, guarantees in force at the scoring date with their shares, defaults."""
    import json

    scoring = json.loads((consortium / "consortium.json").read_text())["scoring_date"]
    companies = pd.read_csv(consortium / "companies.csv", dtype={"company_id": str})
    g = pd.read_csv(consortium / "guarantees.csv", dtype={"guarantor_id": str, "borrower_id": str})
    g = g[(g["start_date"] <= scoring) & (g["end_date"] >= scoring)]
    assets = companies.set_index("company_id")["total_assets"].astype(float)
    guarantor_assets = g["guarantor_id"].map(assets).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(guarantor_assets > 0, g["amount"].to_numpy(float) / guarantor_assets, 1.0)
    share = np.clip(np.nan_to_num(share, nan=1.0), 1e-9, 1.0)
    pair = pd.DataFrame(
        {"g": g["guarantor_id"].to_numpy(), "b": g["borrower_id"].to_numpy(), "s": share}
    )
    summed = pair.groupby(["g", "b"], as_index=False)["s"].sum()
    summed["s"] = summed["s"].clip(upper=1.0)
    defaults = pd.read_csv(consortium / "defaults.csv", dtype={"company_id": str})
    return Registry(
        company_ids=companies["company_id"].to_numpy(dtype=object),
        guarantor=summed["g"].to_numpy(dtype=object),
        borrower=summed["b"].to_numpy(dtype=object),
        share=summed["s"].to_numpy(dtype=float),
        defaulted=set(defaults["company_id"].astype(str)),
    )


def evaluate_variants(
    fed: Federation, prepared: Prepared, registry: Registry, settings: AblationSettings
) -> dict[bool, dict[str, float]]:
    """Company-level AUC and top-k capture of ``fed``'s model without / with the overlay."""
    df = prepared.df
    pd_rows = predict_proba(fed.model, Preprocessor(prepared.contract).transform(df))
    y_rows = Preprocessor(prepared.contract).labels(df)
    ids = df["company_id"].astype(str).to_numpy()
    hold = np.concatenate(fed.holdout_rows)
    company = (
        pd.DataFrame({"id": ids[hold], "pd": pd_rows[hold], "y": y_rows[hold]})
        .groupby("id", sort=True)
        .agg(pd=("pd", "mean"), y=("y", "max"))
    )
    scored = pd.Series(pd_rows, index=ids).groupby(level=0).mean()
    neighbour = pd.Series(float(pd_rows.mean()), index=registry.company_ids)
    known = neighbour.index.intersection(scored.index)
    neighbour.loc[known] = scored.loc[known].to_numpy()
    neighbour.loc[neighbour.index.isin(registry.defaulted)] = 1.0
    exposures = exposure_matrix(
        registry.guarantor, registry.borrower, list(company.index), list(neighbour.index),
        share=registry.share,
    )  # fmt: skip
    y = company["y"].to_numpy(dtype=int)
    out = {}
    for overlay in (False, True):
        p = company["pd"].to_numpy(dtype=float)
        if overlay:
            p = contagion_overlay(p, exposures, neighbour.to_numpy(), settings.overlay_weight)
        res = {"auc": float(roc_auc_score(y, p)), "companies": len(y), "defaults": int(y.sum())}
        res.update({f"capture_top{k}": capture(p, y, k) for k in settings.top_k_percent})
        out[overlay] = res
    return out


def _columns(settings: AblationSettings) -> tuple[str, ...]:
    caps = tuple(f"capture_top{k}" for k in settings.top_k_percent)
    return ("cell_id", "variant", "seed", "auc", *caps, "companies", "defaults", "federated_auc")


def run_ablation(cfg: ExperimentConfig, out: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Both federations per seed (skipping finished ones), the four variants, the report."""
    from simulations.experiments.report_exp import write_ablation_report

    settings = AblationSettings.from_section(cfg.section("ablation"))
    if cfg.data.source != "consortium":
        raise ValueError("[data] the ablation needs a synthetic consortium (source = 'consortium')")
    bind_out(cfg, out, "ablation")
    columns = _columns(settings)
    members = cell_members(cfg, settings.partition, settings.members)
    cells = [
        Cell(settings.epsilon, members, settings.partition, settings.model,
             settings.encryption, seed, graph)
        for seed in cfg.seeds
        for graph in ("none", "auto")
    ]  # fmt: skip
    done = {r["cell_id"] for r in read_rows(out / "results.csv")}
    prepared: dict[str, Prepared] = {}
    registry: Registry | None = None
    with (
        CellProgress(len(cells), cfg.federation.rounds, enabled=show_progress) as bar,
        experiment_ray(cfg, needed=any(c.label() not in done for c in cells)) as live,
    ):
        bar.skip(sum(c.label() in done for c in cells))
        for cell in cells:
            if cell.label() in done:
                continue
            bar.start(cell.label(), out / "cells" / "running" / "runstore.sqlite")
            if cell.graph_features not in prepared:
                prepared[cell.graph_features] = prepare(cfg, out, cell.graph_features)
            prep = prepared[cell.graph_features]
            assert prep.consortium is not None
            registry = registry or read_registry(prep.consortium)
            fed = run_federation(live, cell, prep, out / "cells" / "running")
            graph = cell.graph_features != "none"
            for overlay, res in evaluate_variants(fed, prep, registry, settings).items():
                variant = VARIANTS[2 * graph + overlay]
                row = {"cell_id": cell.label(), "variant": variant, "seed": cell.seed, **res}
                row["federated_auc"] = fed.fed["auc"]
                append_row(out / "results.csv", row, columns)
            bar.done()
    rows = [r for r in read_rows(out / "results.csv") if r["cell_id"] in {c.label() for c in cells}]
    variants = []
    for name in VARIANTS:
        rs = [r for r in rows if r["variant"] == name]
        entry: dict[str, Any] = {"variant": name, "n": len(rs)}
        for key in ("auc", "federated_auc", *(f"capture_top{k}" for k in settings.top_k_percent)):
            m, lo, hi = mean_ci(as_float(r[key]) for r in rs)
            entry[f"{key}_mean"] = m
            entry[f"{key}_ci95"] = [lo, hi]
        variants.append(entry)
    summary = {
        "experiment": "ablation",
        "name": cfg.name,
        "config_fingerprint": cfg.fingerprint(),
        "rounds": cfg.federation.rounds,
        "epsilon": settings.epsilon,
        "overlay_weight": settings.overlay_weight,
        "top_k_percent": list(settings.top_k_percent),
        "variants": variants,
        **run_record(cfg.data.describe(), cfg.seeds),
    }
    write_summary(out / "summary.json", summary)
    write_ablation_report(out, summary)
    return summary
