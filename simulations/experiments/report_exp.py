"""``report.md`` of each experiment: what ran (dataset, seeds, versions, machine), the numbers as
a table, and the plot embedded. The plot is written next to it by :mod:`.plots`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from simulations.experiments import plots
from simulations.experiments.results import atomic_write


def _f(x: object, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float):
        if math.isinf(x):
            return "inf"
        return f"{x:.{digits}f}"
    return str(x)


def _ci(ci: Sequence[float | None]) -> str:
    lo, hi = ci
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        return "n/a (1 seed)"
    return f"[{lo:.4f}, {hi:.4f}]"


def header(title: str, summary: Mapping[str, Any]) -> list[str]:
    """Title and the run record: dataset, seeds, versions, machine."""
    m = summary["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in summary["versions"].items())
    return [
        f"# {title}",
        "",
        f"- experiment: `{summary['name']}` (config fingerprint `{summary['config_fingerprint']}`)",
        f"- dataset: {summary['dataset']}",
        f"- seeds: {', '.join(str(s) for s in summary['seeds'])}",
        f"- versions: {versions}",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, Python {m['python']}, "
        f"{m['platform']}; 1-minute load average {m['load_average_1m']} at the end "
        "(above the core count means timings were taken under CPU contention)",
        f"- finished: {summary['finished_at']}",
        "",
    ]


def write_sweep_report(out: Path, summary: Mapping[str, Any]) -> None:
    """``report.md`` and ``epsilon_auc.png`` of a sweep."""
    cells = summary["cells"]
    plots.plot_sweep(cells, out / plots.SWEEP_PNG)
    lines = header("Privacy/utility sweep", summary)
    lines += [
        f"Every cell: federated training on Flower's simulation engine, {summary['rounds']} "
        f"rounds, delta {summary['delta']:g}; AUC on the pooled holdout of all members (from the "
        "encrypted label-split histograms); 95% Student-t interval over seeds.",
        "",
        "| partition | members | model | encryption | epsilon | seeds | AUC mean | AUC 95% CI "
        "| KS mean | eps spent | gap to no-DP (paired, 95% CI) | centralised | local-only |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        lines.append(
            f"| {c['partition']} | {c['members']} | {c['model']} | {c['encryption']} | "
            f"{_f(c['epsilon'], 2)} | {c['n']} | {_f(c['auc_mean'])} | {_ci(c['auc_ci95'])} | "
            f"{_f(c['ks_mean'])} | {_f(c['epsilon_spent_mean'], 3)} | "
            f"{_f(c['gap_paired_mean'])} {_ci(c['gap_paired_ci95'])} | "
            f"{_f(c['centralised_auc_mean'])} | "
            f"{_f(c['local_only_auc_mean'])} |"
        )
    lines += ["", f"![epsilon vs AUC]({plots.SWEEP_PNG})", ""]
    atomic_write(out / "report.md", "\n".join(lines).encode())


def write_attack_report(out: Path, summary: Mapping[str, Any]) -> None:
    """``report.md`` and ``attack_auc.png`` of the attack experiment."""
    rows = summary["by_epsilon"]
    plots.plot_attack(rows, out / plots.ATTACK_PNG)
    lines = header("Membership inference and ciphertext leakage", summary)
    lines += [
        "Members' training rows vs held-out rows of the same members (same distribution). "
        "Loss-threshold attack (Yeom et al. 2018) and shadow-model attack (Shokri et al. 2017, "
        f"{summary['shadow_models']} shadow models trained on the attacker's own disjoint rows). "
        "AUC with a 95% interval (Student-t over seeds; a bootstrap over rows for one seed); "
        "TPR at 1% FPR.",
        "",
        "| epsilon | target model AUC | loss-threshold AUC | CI | TPR@1%FPR | shadow AUC | CI "
        "| TPR@1%FPR |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {_f(r['epsilon'], 2)} | {_f(r['model_auc_mean'])} | "
            f"{_f(r['loss_threshold_auc_mean'])} | {_ci(r['loss_threshold_auc_ci95'])} | "
            f"{_f(r['loss_threshold_tpr_at_1fpr_mean'])} | {_f(r['shadow_model_auc_mean'])} | "
            f"{_ci(r['shadow_model_auc_ci95'])} | {_f(r['shadow_model_tpr_at_1fpr_mean'])} |"
        )
    ct = summary["ciphertext_check"]
    lines += [
        "",
        f"![attack AUC vs epsilon]({plots.ATTACK_PNG})",
        "",
        "## What the coordinator sees: a classifier on ciphertext bytes",
        "",
        f"{ct['samples_per_class']} encryptions each of two very different updates (all values "
        f"at {ct['low']:g} vs all at {ct['high']:g}, {ct['length']} values, {ct['key_bits']}-bit "
        f"key); a {ct['classifier']} on the payload bytes, {ct['folds']}-fold cross-validated.",
        "",
        "| payload | classifier AUC | 95% CI (bootstrap) |",
        "|---|---|---|",
        f"| packed Paillier ciphertexts | {_f(ct['paillier_auc'])} | "
        f"{_ci(ct['paillier_auc_ci95'])} |",
        f"| insecure plaintext (positive control) | {_f(ct['plaintext_auc'])} | "
        f"{_ci(ct['plaintext_auc_ci95'])} |",
        "",
    ]
    atomic_write(out / "report.md", "\n".join(lines).encode())


def write_cost_report(out: Path, summary: Mapping[str, Any]) -> None:
    """``report.md`` and ``cost_members.png`` of the cost experiment."""
    rows = summary["runs"]
    plots.plot_cost(rows, out / plots.COST_PNG)
    bare = summary.get("bare_engine") or []
    lines = header("Cost per round", summary)
    lines += [
        f"Private runs (DP-SGD + {summary['key_bits']}-bit packed Paillier), {summary['rounds']} "
        f"rounds, Ray: {summary['ray']}. Times per member and training round; engine overhead = "
        "(round wall time - sum of in-member ClientApp time / parallel workers) / members.",
        "",
        "| members | model | params | total s | s/round | bytes up/member/round | train ms "
        "| encrypt ms | decrypt ms | evaluate ms | engine ms/member/round |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['members']} | {r['model']} | {r['parameters']} | {_f(r['wall_seconds'], 1)} | "
            f"{_f(r['seconds_per_round'], 2)} | {r['bytes_per_member_per_round']} | "
            f"{_f(r['train_ms'], 1)} | {_f(r['encrypt_ms'], 1)} | {_f(r['member_other_ms'], 1)} "
            f"| {_f(r['evaluate_ms'], 1)} | {_f(r['engine_ms'], 2)} |"
        )
    lines += [
        "",
        "Marginal engine cost (slope of engine seconds per round vs members): "
        f"**{_f(summary['marginal_engine_ms_per_member'], 2)} ms per member per round**.",
    ]
    for b in bare:
        lines.append(
            f"- Flower's bare engine (no-op ClientApp, FedAvg), {b['members']} members: "
            f"{_f(b['seconds_per_round'], 3)} s per round = {_f(b['engine_ms'], 2)} ms per member"
        )
    if bare:
        lines.append(
            "- bare engine marginal cost: "
            f"{_f(summary['bare_engine_marginal_ms_per_member'], 2)} ms per member per round"
        )
    lines += ["", f"![cost vs members]({plots.COST_PNG})", ""]
    atomic_write(out / "report.md", "\n".join(lines).encode())


def write_ablation_report(out: Path, summary: Mapping[str, Any]) -> None:
    """``report.md`` and ``ablation_topk.png`` of the ablation."""
    variants = summary["variants"]
    ks = summary["top_k_percent"]
    plots.plot_ablation(variants, ks, out / plots.ABLATION_PNG)
    lines = header("Graph ablation and isolate-the-top-k%", summary)
    lines += [
        "Federated model with and without the relationship-graph features, each with and without "
        f"the contagion overlay (weight {summary['overlay_weight']:g}). Companies of the pooled "
        "holdout ranked by PD; capture = share of next-period defaults (`default_6m`) among the "
        "riskiest k%.",
        "",
        "| variant | AUC | " + " | ".join(f"capture top {k}%" for k in ks) + " |",
        "|---|---|" + "---|" * len(ks),
    ]
    for v in variants:
        caps = " | ".join(_f(v[f"capture_top{k}_mean"], 3) for k in ks)
        lines.append(f"| {v['variant']} | {_f(v['auc_mean'])} | {caps} |")
    lines += ["", f"![isolate the top k%]({plots.ABLATION_PNG})", ""]
    atomic_write(out / "report.md", "\n".join(lines).encode())
