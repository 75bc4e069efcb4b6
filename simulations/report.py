"""Write a simulation report: ``report.json``, ``report.md`` and PNG plots.

``report.json`` is an interface other tools depend on; its top-level keys are ``federated``,
``centralized`` and ``local_only`` (with ``--baselines``), ``members``, ``privacy``, ``cost``
and ``config``. Arrays used for plotting (scores, histograms) are dropped from the JSON.
"""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import roc_curve

PLOT_ROUNDS = "auc_per_round.png"
PLOT_ROC = "roc.png"
_DROP = {"scores", "histograms"}


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items() if k not in _DROP}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _roc_from_hist(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC points from label-split histograms (thresholds at bin edges, high to low)."""
    tp = np.concatenate([[0], np.cumsum(pos[::-1])]) / max(pos.sum(), 1)
    fp = np.concatenate([[0], np.cumsum(neg[::-1])]) / max(neg.sum(), 1)
    return fp, tp


def plot_rounds(report: dict[str, Any], path: Path) -> None:
    """AUC per round: federated vs centralised vs mean local-only."""
    fed = report["federated"]["rounds"]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    ax.plot([r["round"] for r in fed], [r["auc"] for r in fed], "o-", label="federated")
    if "centralized" in report:
        cen = report["centralized"]["auc_per_round"]
        ax.plot(range(1, len(cen) + 1), cen, "s--", label="centralised (pooled rows)")
        loc = report["local_only"]["auc_mean_per_round"]
        ax.plot(range(1, len(loc) + 1), loc, "^:", label="local-only (mean over members)")
    ax.set_xlabel(f"round (local epochs per round: {report['config']['local_epochs']})")
    ax.set_ylabel("ROC AUC on the global holdout")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Federated vs baselines")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_roc(report: dict[str, Any], y_holdout: np.ndarray | None, path: Path) -> None:
    """ROC curves: federated (from the summed histograms) and centralised."""
    fig, ax = plt.subplots(figsize=(4.8, 4.8), dpi=110)
    pos, neg = report["federated"]["histograms"]
    fp, tp = _roc_from_hist(np.asarray(pos), np.asarray(neg))
    ax.plot(fp, tp, label=f"federated (AUC {report['federated']['auc']:.3f})")
    if "centralized" in report and y_holdout is not None:
        f2, t2, _ = roc_curve(y_holdout, report["centralized"]["scores"])
        ax.plot(f2, t2, "--", label=f"centralised (AUC {report['centralized']['auc']:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC on the global holdout")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def markdown(report: dict[str, Any]) -> str:
    """A human-readable summary of the report."""
    fed, cfg = report["federated"], report["config"]
    src = cfg.get("data") or cfg.get("consortium")
    lines = [
        "# fedcredit simulation report",
        "",
        f"- data: `{src}`; label `{cfg['label']}` (positive `{cfg['positive']}`)",
        f"- members: {len(report['members'])} (partition `{cfg['partition']}`), "
        f"rounds: {cfg['rounds']}, model: `{cfg['model']}`, seed: {cfg['seed']}",
        f"- update encryption: `{report['privacy']['encryption']}`; DP: {report['privacy']['dp']}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
        "",
        "| model | ROC AUC | KS |",
        "|---|---|---|",
        f"| federated | {fed['auc']:.4f} | {fed['ks']:.4f} |",
    ]
    if "centralized" in report:
        cen, loc = report["centralized"], report["local_only"]
        lines.append(f"| centralised | {cen['auc']:.4f} | {cen['ks']:.4f} |")
        lines.append(f"| local-only (mean) | {loc['auc_mean']:.4f} | |")
    lines += [
        "",
        f"Brier score (federated): {fed['brier']:.4f}",
        "",
        "| member | rows | positives | federated AUC on own holdout |",
        "|---|---|---|---|",
    ]
    for m in report["members"]:
        auc = fed["per_member_auc"].get(m["id"], float("nan"))
        lines.append(f"| {m['id']} | {m['rows']} | {m['positives']} | {auc:.4f} |")
    cost = report["cost"]
    lines += [
        "",
        f"Cost: {cost['seconds_per_round']:.2f} s per round, "
        f"{cost['bytes_up_per_member_per_round']} bytes up per member per round.",
        "",
        f"![AUC per round]({PLOT_ROUNDS})",
        "",
        f"![ROC]({PLOT_ROC})",
        "",
    ]
    return "\n".join(lines)


def write_report(
    report: dict[str, Any], out: Path, y_holdout: np.ndarray | None = None
) -> dict[str, Any]:
    """Write JSON, Markdown and plots into ``out``; return the JSON-able report."""
    out.mkdir(parents=True, exist_ok=True)
    plot_rounds(report, out / PLOT_ROUNDS)
    plot_roc(report, y_holdout, out / PLOT_ROC)
    clean = _jsonable(report)
    _atomic_write(out / "report.json", json.dumps(clean, indent=2).encode())
    _atomic_write(out / "report.md", markdown(report).encode())
    return dict(clean)
