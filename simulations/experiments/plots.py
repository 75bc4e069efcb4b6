"""PNG plots of the experiments (matplotlib, Agg backend): labelled axes, legends, intervals.

Non-private cells (epsilon = inf) are drawn at the right end of a log epsilon axis, at four
times the largest finite epsilon, and that tick is labelled "inf (no DP)".
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

SWEEP_PNG = "epsilon_auc.png"
ATTACK_PNG = "attack_auc.png"
COST_PNG = "cost_members.png"
ABLATION_PNG = "ablation_topk.png"


def _eps_axis(ax: Axes, eps: Sequence[float]) -> float:
    """Log epsilon axis with an "inf" tick; return the x position used for inf."""
    finite = sorted({e for e in eps if math.isfinite(e)})
    inf_x = (finite[-1] * 4) if finite else 1.0
    ticks = [*finite, inf_x] if any(math.isinf(e) for e in eps) else finite
    ax.set_xscale("log")
    ax.set_xticks(ticks)
    ax.set_xticklabels(
        [f"{t:g}" for t in finite] + (["inf (no DP)"] if len(ticks) > len(finite) else [])
    )
    ax.minorticks_off()
    return inf_x


def _x(e: float, inf_x: float) -> float:
    return inf_x if math.isinf(e) else e


def _err(mean: float, ci: Sequence[float | None]) -> list[float]:
    lo, hi = ci
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        return [0.0, 0.0]
    return [mean - lo, hi - mean]


def plot_sweep(cells: Sequence[dict[str, Any]], path: Path) -> None:
    """Epsilon vs federated AUC (mean, 95% interval over seeds), one panel per partition, with
    the centralised (dashed) and local-only (dotted) AUC of the same splits."""
    partitions = sorted({c["partition"] for c in cells})
    ncols = min(3, len(partitions))
    nrows = math.ceil(len(partitions) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(5.2 * ncols, 3.9 * nrows), dpi=100, squeeze=False
    )
    for ax, part in zip(axes.flat, partitions, strict=False):
        sub = [c for c in cells if c["partition"] == part]
        inf_x = _eps_axis(ax, [c["epsilon"] for c in sub])
        lines: dict[tuple[object, ...], list[dict[str, Any]]] = defaultdict(list)
        for c in sub:
            lines[(c["members"], c["model"], c["encryption"])].append(c)
        for (members, model, enc), pts in sorted(lines.items(), key=str):
            pts = sorted(pts, key=lambda c: c["epsilon"])
            xs = [_x(c["epsilon"], inf_x) for c in pts]
            ys = [c["auc_mean"] for c in pts]
            err = np.array([_err(c["auc_mean"], c["auc_ci95"]) for c in pts]).T
            bar = ax.errorbar(
                xs,
                ys,
                yerr=err,
                marker="o",
                capsize=3,
                label=f"federated, {members} members, {model}, {enc}",
            )
            color = bar.lines[0].get_color()
            cen = np.nanmean([c["centralised_auc_mean"] for c in pts])
            loc = np.nanmean([c["local_only_auc_mean"] for c in pts])
            if not math.isnan(cen):
                ax.axhline(
                    cen, ls="--", color=color, lw=1, label=f"centralised ({members}, {model})"
                )
            if not math.isnan(loc):
                ax.axhline(
                    loc, ls=":", color=color, lw=1, label=f"local-only mean ({members}, {model})"
                )
        ax.set_title(f"partition {part}")
        ax.set_xlabel("DP epsilon per member (delta fixed)")
        ax.set_ylabel("ROC AUC, pooled holdout (mean, 95% CI)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for ax in list(axes.flat)[len(partitions) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_attack(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Membership-inference attack AUC vs epsilon (loss-threshold and shadow-model attacks),
    with the chance line and the 0.55 target."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    inf_x = _eps_axis(ax, [r["epsilon"] for r in rows])
    for attack, marker in (("loss_threshold", "o"), ("shadow_model", "s")):
        pts = sorted(rows, key=lambda r: r["epsilon"])
        xs = [_x(r["epsilon"], inf_x) for r in pts]
        ys = [r[f"{attack}_auc_mean"] for r in pts]
        err = np.array([_err(r[f"{attack}_auc_mean"], r[f"{attack}_auc_ci95"]) for r in pts]).T
        ax.errorbar(
            xs, ys, yerr=err, marker=marker, capsize=3, label=attack.replace("_", "-") + " attack"
        )
    ax.axhline(0.5, color="grey", lw=1, label="chance (0.5)")
    ax.axhline(0.55, color="red", ls="--", lw=1, label="target at eps <= 3 (0.55)")
    ax.set_xlabel("DP epsilon per member")
    ax.set_ylabel("membership-inference AUC (95% CI)")
    ax.set_title("Membership inference against the global model")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_cost(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Left: seconds per round vs members, per model. Right: per member and round, where the
    time goes (DP-SGD training, encrypt, decrypt+rest in the member, engine overhead)."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_model[r["model"]].append(r)
    for model, pts in sorted(by_model.items()):
        pts = sorted(pts, key=lambda r: r["members"])
        a1.plot(
            [r["members"] for r in pts],
            [r["seconds_per_round"] for r in pts],
            "o-",
            label=f"{model} ({pts[0]['parameters']} params)",
        )
    a1.set_xlabel("members in the round")
    a1.set_ylabel("seconds per round (train + evaluate)")
    a1.set_title("Round time vs members")
    a1.grid(alpha=0.3)
    a1.legend(fontsize=8)
    first = sorted(by_model)[0]
    pts = sorted(by_model[first], key=lambda r: r["members"])
    x = np.arange(len(pts))
    bottom = np.zeros(len(pts))
    for key, label in (
        ("train_ms", "DP-SGD training"),
        ("encrypt_ms", "encrypt (packed Paillier)"),
        ("member_other_ms", "decrypt aggregate"),
        ("evaluate_ms", "evaluate (score + encrypt histograms)"),
        ("engine_ms", "engine + coordinator"),
    ):
        vals = np.array([max(0.0, r[key]) for r in pts])
        a2.bar(x, vals, bottom=bottom, label=label)
        bottom += vals
    a2.set_xticks(x)
    a2.set_xticklabels([str(r["members"]) for r in pts])
    a2.set_xlabel(f"members ({first})")
    a2.set_ylabel("ms per member per training round")
    a2.set_title("Where a member-round goes")
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_ablation(variants: Sequence[dict[str, Any]], ks: Sequence[int], path: Path) -> None:
    """Share of next-period defaults captured by the riskiest k% of companies, per variant."""
    fig, ax = plt.subplots(figsize=(7.2, 4.2), dpi=100)
    width = 0.8 / max(len(variants), 1)
    x = np.arange(len(ks))
    for i, v in enumerate(variants):
        means = [v[f"capture_top{k}_mean"] for k in ks]
        err = np.array([_err(v[f"capture_top{k}_mean"], v[f"capture_top{k}_ci95"]) for k in ks]).T
        ax.bar(
            x + i * width - 0.4 + width / 2,
            means,
            width,
            yerr=err if np.any(err) else None,
            capsize=2,
            label=f"{v['variant']} (AUC {v['auc_mean']:.3f})",
        )
    ax.plot(x, [k / 100 for k in ks], "k_", markersize=30, label="random ranking (k%)")
    ax.set_xticks(x)
    ax.set_xticklabels([f"top {k}%" for k in ks])
    ax.set_xlabel("riskiest k% of companies isolated")
    ax.set_ylabel("share of next-period defaults captured")
    ax.set_title("Graph features and contagion overlay: isolate the top k%")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
