"""``fedcredit sim attack``: membership inference against the global model, and what the
coordinator's ciphertexts reveal.

Membership inference (per epsilon, including ``inf`` = no DP, per seed). The rows are split
once: a ``shadow_fraction`` goes to the attacker (never seen by the federation), the rest to the
members. After a real federated training on Flower the attacker holds the global model (every
member does) and must tell members' *training* rows (label 1) from the same members' *held-out*
rows (label 0, same distribution, never trained on):

- loss threshold (Yeom et al., CSF 2018, "Privacy risk in machine learning"): score = -loss;
  the AUC over all thresholds and the TPR at 1% FPR;
- shadow models (Shokri et al., S&P 2017, "Membership inference attacks against machine
  learning models"): ``shadow_models`` models of the same architecture and training budget are
  trained on random halves of the attacker's rows; a logistic-regression attack model learns
  in/out from their (loss, log-loss, label) features and scores the target's rows.

Ciphertext check: ``samples`` encryptions each of two maximally different updates (every value
at -0.9 and +0.9 of the clip bound) under the packed Paillier codec; a cross-validated
logistic regression on the payload bytes should do no better than chance (AUC ~ 0.5, reported
with a bootstrap 95% interval). The same classifier on the insecure-plaintext codec's payloads
is the positive control (AUC ~ 1), showing the classifier would find a leak if there were one.

Complexity: one federation per (epsilon, seed); the attacks are O(rows) inference plus
``shadow_models`` small trainings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from participant_node.data import Preprocessor
from participant_node.model import ModelSpec, TrainSettings, build_from_spec, train_local
from privacy import InsecurePlaintextCodec, Payload, UpdateCodec
from privacy.keys import generate_keypair
from privacy.layouts import run_layouts
from privacy.paillier_codec import PackedPaillierCodec
from simulations.experiments.cells import Prepared, prepare, run_federation
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

COLUMNS: tuple[str, ...] = (
    "cell_id", "epsilon", "seed", "model_auc", "epsilon_spent", "member_rows", "nonmember_rows",
    "loss_threshold_auc", "loss_threshold_auc_lo", "loss_threshold_auc_hi",
    "loss_threshold_tpr_at_1fpr", "shadow_model_auc", "shadow_model_auc_lo",
    "shadow_model_auc_hi", "shadow_model_tpr_at_1fpr", "wall_seconds",
)  # fmt: skip
ATTACKS = ("loss_threshold", "shadow_model")


@dataclass(frozen=True)
class AttackSettings:
    """The ``[attack]`` table."""

    epsilon: tuple[float, ...] = (math.inf, 1.0, 3.0)
    members: int = 3
    partition: str = "iid"
    model: str = "mlp:64"
    encryption: str = "paillier"
    shadow_models: int = 4
    shadow_fraction: float = 0.3
    max_rows: int = 0
    bootstrap: int = 200
    ciphertext_samples: int = 100
    ciphertext_length: int = 64
    ciphertext_folds: int = 5

    def __post_init__(self) -> None:
        if not 0.05 <= self.shadow_fraction <= 0.5:
            raise ValueError(
                f"[attack] shadow_fraction must be in [0.05, 0.5]; got {self.shadow_fraction}"
            )
        if self.shadow_models < 1:
            raise ValueError(f"[attack] shadow_models must be >= 1; got {self.shadow_models}")
        if self.ciphertext_samples < 2 * self.ciphertext_folds:
            raise ValueError("[attack] ciphertext_samples must be >= 2 * ciphertext_folds")

    @classmethod
    def from_section(cls, doc: dict[str, Any]) -> AttackSettings:
        """Validate the table; unknown keys are named."""
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - allowed)
        if unknown:
            raise ValueError(f"[attack] unknown keys {unknown}; allowed: {sorted(allowed)}")
        if "epsilon" in doc:
            doc = {**doc, "epsilon": tuple(parse_epsilon(e, "attack") for e in doc["epsilon"])}
        return cls(**doc)


def per_row_loss(model: nn.Module, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Binary cross-entropy of every row under ``model``."""
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        loss = nn.functional.binary_cross_entropy_with_logits(
            logits, torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)), reduction="none"
        )
    return loss.double().numpy()


def tpr_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr_max: float = 0.01) -> float:
    """Highest true-positive rate at a false-positive rate <= ``fpr_max``."""
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(tpr[fpr <= fpr_max].max())


def bootstrap_auc(
    labels: np.ndarray, scores: np.ndarray, n: int, seed: int
) -> tuple[float, float, float]:
    """AUC and its percentile-bootstrap 95% interval (``n`` resamples of the rows)."""
    auc = float(roc_auc_score(labels, scores))
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n):
        i = rng.integers(0, len(labels), len(labels))
        if labels[i].min() != labels[i].max():
            boots.append(roc_auc_score(labels[i], scores[i]))
    lo, hi = np.percentile(boots, [2.5, 97.5]) if boots else (math.nan, math.nan)
    return auc, float(lo), float(hi)


def _features(loss: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.column_stack([loss, np.log(loss + 1e-12), y, y * loss])


def shadow_attack_model(
    spec: ModelSpec,
    x: np.ndarray,
    y: np.ndarray,
    settings: TrainSettings,
    epochs: int,
    n_shadows: int,
    seed: int,
) -> Any:
    """Train ``n_shadows`` shadow models on random halves of the attacker's rows and fit the
    attack classifier on their in/out features (Shokri et al. 2017)."""
    torch.set_num_threads(1)  # small models: threads only contend on a shared machine
    rng = np.random.default_rng(seed)
    feats, labels = [], []
    shadow_settings = TrainSettings(
        epochs=epochs,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        momentum=settings.momentum,
    )
    for s in range(n_shadows):
        order = rng.permutation(len(y))
        half = len(y) // 2
        inn, out = order[:half], order[half:]
        model = build_from_spec(spec, seed=seed * 1000 + s)
        train_local(model, x[inn], y[inn], shadow_settings, seed=seed * 1000 + s)
        for rows, lab in ((inn, 1), (out, 0)):
            feats.append(_features(per_row_loss(model, x[rows], y[rows]), y[rows]))
            labels.append(np.full(len(rows), lab))
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    clf.fit(np.concatenate(feats), np.concatenate(labels))
    return clf


def _split_attacker(
    prepared: Prepared, settings: AttackSettings, seed: int
) -> tuple[Prepared, np.ndarray, np.ndarray]:
    """Members' rows (a ``Prepared``) and the attacker's disjoint encoded rows."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(prepared.df))
    if settings.max_rows:
        order = order[: settings.max_rows]
    n_att = round(len(order) * settings.shadow_fraction)
    att = prepared.df.iloc[np.sort(order[:n_att])].reset_index(drop=True)
    tgt = prepared.df.iloc[np.sort(order[n_att:])].reset_index(drop=True)
    pre = Preprocessor(prepared.contract)
    return (
        Prepared(tgt, prepared.contract, prepared.consortium, prepared.data),
        pre.transform(att),
        pre.labels(att),
    )


def attack_cell(
    cfg: ExperimentConfig, settings: AttackSettings, cell: Cell, prepared: Prepared, out: Path
) -> dict[str, Any]:
    """One federation and both attacks against its global model; the ``results.csv`` row."""
    target, x_att, y_att = _split_attacker(prepared, settings, cell.seed)
    fed = run_federation(cfg, cell, target, out / "cells" / "running")
    x_in = np.concatenate([p.x_train for p in fed.parts])
    y_in = np.concatenate([p.y_train for p in fed.parts])
    x_out = np.concatenate([p.x_holdout for p in fed.parts])
    y_out = np.concatenate([p.y_holdout for p in fed.parts])
    labels = np.r_[np.ones(len(y_in)), np.zeros(len(y_out))]
    y_all = np.r_[y_in, y_out]
    loss = np.r_[per_row_loss(fed.model, x_in, y_in), per_row_loss(fed.model, x_out, y_out)]
    epochs = cfg.federation.rounds * cfg.federation.local_epochs
    clf = shadow_attack_model(
        fed.spec, x_att, y_att, fed.settings, epochs, settings.shadow_models, cell.seed
    )
    scores = {
        "loss_threshold": -loss,
        "shadow_model": clf.predict_proba(_features(loss, y_all))[:, 1],
    }
    row: dict[str, Any] = {
        "cell_id": cell.label(),
        "epsilon": cell.epsilon,
        "seed": cell.seed,
        "model_auc": fed.fed["auc_exact_pooled"],
        "epsilon_spent": math.inf if fed.privacy["epsilon"] is None else fed.privacy["epsilon"],
        "member_rows": len(y_in),
        "nonmember_rows": len(y_out),
        "wall_seconds": fed.wall_seconds,
    }
    for name, s in scores.items():
        auc, lo, hi = bootstrap_auc(labels, s, settings.bootstrap, cell.seed)
        row.update({f"{name}_auc": auc, f"{name}_auc_lo": lo, f"{name}_auc_hi": hi})
        row[f"{name}_tpr_at_1fpr"] = tpr_at_fpr(labels, s)
    return row


def payload_bytes(payload: Payload) -> np.ndarray:
    """Every byte a coordinator receives in the payload's arrays, as one uint8 vector."""
    return np.concatenate(
        [
            np.ascontiguousarray(payload.arrays[k]).view(np.uint8).ravel()
            for k in sorted(payload.arrays)
        ]
    )


def bytes_classifier_auc(
    codec: UpdateCodec, low: np.ndarray, high: np.ndarray, settings: AttackSettings, seed: int
) -> tuple[float, float, float]:
    """Cross-validated AUC of a logistic regression telling ``encode(low)`` from
    ``encode(high)`` by payload bytes, with a bootstrap 95% interval."""
    n = settings.ciphertext_samples
    x = np.stack([payload_bytes(codec.encode(v, weight=1)) for v in [low] * n + [high] * n])
    y = np.r_[np.zeros(n), np.ones(n)]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    folds = StratifiedKFold(settings.ciphertext_folds, shuffle=True, random_state=seed)
    p = cross_val_predict(clf, x.astype(np.float64), y, cv=folds, method="predict_proba")[:, 1]
    return bootstrap_auc(y, p, settings.bootstrap, seed)


def ciphertext_check(key_bits: int, settings: AttackSettings, seed: int) -> dict[str, Any]:
    """Can a classifier on the coordinator's view tell two very different updates apart?"""
    _, priv = generate_keypair(key_bits)
    layout, _ = run_layouts(param_clip=8.0, value_bits=16, max_members=64, max_weight=255)
    low = np.full(settings.ciphertext_length, -0.9 * 8.0)
    high = np.full(settings.ciphertext_length, 0.9 * 8.0)
    enc = bytes_classifier_auc(
        PackedPaillierCodec(priv, layout, workers=1), low, high, settings, seed
    )
    plain = bytes_classifier_auc(InsecurePlaintextCodec(), low, high, settings, seed)
    return {
        "key_bits": key_bits,
        "length": settings.ciphertext_length,
        "low": float(low[0]),
        "high": float(high[0]),
        "samples_per_class": settings.ciphertext_samples,
        "folds": settings.ciphertext_folds,
        "classifier": "logistic regression (standardised bytes)",
        "paillier_auc": enc[0],
        "paillier_auc_ci95": [enc[1], enc[2]],
        "plaintext_auc": plain[0],
        "plaintext_auc_ci95": [plain[1], plain[2]],
    }


def summarise(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Per epsilon: means over seeds, t-interval (bootstrap interval for one seed)."""
    out = []
    for eps in sorted({as_float(r["epsilon"]) for r in rows}):
        rs = [r for r in rows if as_float(r["epsilon"]) == eps]
        entry: dict[str, Any] = {"epsilon": eps, "n": len(rs)}
        for key in ("model_auc", "epsilon_spent"):
            entry[f"{key}_mean"] = mean_ci(as_float(r[key]) for r in rs)[0]
        for name in ATTACKS:
            m, lo, hi = mean_ci(as_float(r[f"{name}_auc"]) for r in rs)
            if len(rs) == 1:
                lo, hi = as_float(rs[0][f"{name}_auc_lo"]), as_float(rs[0][f"{name}_auc_hi"])
            entry[f"{name}_auc_mean"] = m
            entry[f"{name}_auc_ci95"] = [lo, hi]
            entry[f"{name}_tpr_at_1fpr_mean"] = mean_ci(
                as_float(r[f"{name}_tpr_at_1fpr"]) for r in rs
            )[0]
        out.append(entry)
    return out


def run_attack(cfg: ExperimentConfig, out: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Run every (epsilon, seed) not yet in ``results.csv``, the ciphertext check, the report."""
    from simulations.experiments.report_exp import write_attack_report

    settings = AttackSettings.from_section(cfg.section("attack"))
    bind_out(cfg, out, "attack")
    members = cell_members(cfg, settings.partition, settings.members)
    cells = [
        Cell(eps, members, settings.partition, settings.model, settings.encryption, seed)
        for eps in settings.epsilon
        for seed in cfg.seeds
    ]
    done = {r["cell_id"] for r in read_rows(out / "results.csv")}
    prepared: Prepared | None = None
    with (
        CellProgress(len(cells), cfg.federation.rounds, enabled=show_progress) as bar,
        experiment_ray(cfg, needed=any(c.label() not in done for c in cells)) as live,
    ):
        bar.skip(sum(c.label() in done for c in cells))
        for cell in cells:
            if cell.label() in done:
                continue
            bar.start(cell.label(), out / "cells" / "running" / "runstore.sqlite")
            prepared = prepared or prepare(cfg, out)
            append_row(
                out / "results.csv", attack_cell(live, settings, cell, prepared, out), COLUMNS
            )
            bar.done()
    rows = [r for r in read_rows(out / "results.csv") if r["cell_id"] in {c.label() for c in cells}]
    summary = {
        "experiment": "attack",
        "name": cfg.name,
        "config_fingerprint": cfg.fingerprint(),
        "rounds": cfg.federation.rounds,
        "model": settings.model,
        "shadow_models": settings.shadow_models,
        "by_epsilon": summarise(rows),
        "ciphertext_check": ciphertext_check(cfg.federation.key_bits, settings, cfg.seeds[0]),
        **run_record(cfg.data.describe(), cfg.seeds),
    }
    write_summary(out / "summary.json", summary)
    write_attack_report(out, summary)
    return summary
