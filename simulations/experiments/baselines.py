"""Baselines trained on the same splits as the federation: centralised and local-only.

- **Centralised**: every member's training rows pooled in one place (what a data-sharing
  consortium would get without privacy), trained with the same model, optimiser and total
  number of epochs as the federation (``rounds * local_epochs``).
- **Local-only**: each member trains alone on its own rows with the same budget, and is scored
  on the *global* holdout (the union of all members' holdouts), so the numbers answer "what
  would this lender's model be worth on the whole market?".

Both are evaluated after every ``local_epochs`` epochs so the report can plot them per round
next to the federated curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import roc_auc_score

from participant_node.metrics import ks_from_histograms, score_histograms
from participant_node.model import (
    ModelSpec,
    TrainSettings,
    build_from_spec,
    predict_proba,
    train_local,
)
from participant_node.partition import MemberPartition


@dataclass(frozen=True)
class Curve:
    """Holdout metrics of one model after each round-equivalent of training."""

    auc: list[float] = field(default_factory=list)
    ks: list[float] = field(default_factory=list)
    final_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))


def auc_ks(scores: np.ndarray, y: np.ndarray, bins: int = 4096) -> tuple[float, float]:
    """Exact ROC AUC (scikit-learn) and KS from fine histograms."""
    if len(np.unique(y)) < 2:
        return float("nan"), float("nan")
    pos, neg = score_histograms(scores, y, bins)
    return float(roc_auc_score(y, scores)), ks_from_histograms(pos, neg)


def train_curve(
    spec: ModelSpec,
    x: np.ndarray,
    y: np.ndarray,
    x_eval: np.ndarray,
    y_eval: np.ndarray,
    settings: TrainSettings,
    rounds: int,
    *,
    model_seed: int,
    seed: int,
) -> Curve:
    """Train from the consortium's seed weights, evaluating after each round-equivalent."""
    model = build_from_spec(spec, seed=model_seed)
    curve = Curve()
    scores = np.zeros(0)
    for r in range(rounds):
        train_local(model, x, y, settings, seed=seed + r)
        scores = predict_proba(model, x_eval)
        auc, ks = auc_ks(scores, y_eval)
        curve.auc.append(auc)
        curve.ks.append(ks)
    return Curve(auc=curve.auc, ks=curve.ks, final_scores=scores)


def global_holdout(parts: Sequence[MemberPartition]) -> tuple[np.ndarray, np.ndarray]:
    """Union of all members' holdout rows."""
    return (
        np.concatenate([p.x_holdout for p in parts]),
        np.concatenate([p.y_holdout for p in parts]),
    )


def centralised(
    spec: ModelSpec,
    parts: Sequence[MemberPartition],
    settings: TrainSettings,
    rounds: int,
    *,
    model_seed: int,
    seed: int,
) -> Curve:
    """Train on the pooled training rows of every member."""
    x = np.concatenate([p.x_train for p in parts])
    y = np.concatenate([p.y_train for p in parts])
    xe, ye = global_holdout(parts)
    return train_curve(spec, x, y, xe, ye, settings, rounds, model_seed=model_seed, seed=seed)


def local_only(
    spec: ModelSpec,
    parts: Sequence[MemberPartition],
    settings: TrainSettings,
    rounds: int,
    *,
    model_seed: int,
    seed: int,
) -> dict[str, Curve]:
    """Train one model per member on its own rows; score each on the global holdout."""
    xe, ye = global_holdout(parts)
    return {
        p.member_id: train_curve(
            spec, p.x_train, p.y_train, xe, ye, settings, rounds, model_seed=model_seed, seed=seed
        )
        for p in parts
    }
