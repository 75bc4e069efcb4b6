"""Benchmark: batch scoring with reason codes, logistic and MLP, ours vs the previous method.

Data: a synthetic consortium (``simulations.consortium``, seed 7), the members' rows pooled,
the contract inferred from them (no graph features), a logistic scorecard and the consortium
MLP (hidden 32) trained with plain SGD for 3 epochs, exported as model artifacts. Then, on
``--rows`` rows (10,000 in the full run), side by side in one run and interleaved repeat by
repeat so that a shared machine's background load hits both alike:

* ``attribution`` -- the reason-code attributions alone (``ScoringNet.attribute``): MLP
  *previous* = the kink-to-kink path walk (``method="walk"``), *ours* = the closed form per
  first-layer segment (``method="segments"``, default); logistic: ``w (x - r)`` both times.
* ``batch`` -- the whole ``Scorer.score`` of the batch (encode, PD, points, tiers, reasons,
  warnings; no graph). *previous* = the path walk with CPython's cyclic collector running
  while results are built (as the previous scorer did); *ours* = the closed form with the
  collector deferred for the batch (``scorer._gc_deferred``). Both rank reasons with the
  batched ``top_reasons_batch`` (the per-row ranking it replaced cost the same).

Reported per model: median seconds, the speed-up (previous / ours), the largest difference
between the two methods' attributions and the completeness error
``max |sum_j a_j - (logit(x) - logit(ref))|``. Target (issue 6, full run): a 10k batch of the
MLP in <= 2 s. Prints a table and writes ``benchmarks/results/scoring_batch.json``.

Run: ``python benchmarks/scoring_batch.py [--quick] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from support.machine import describe_machine

from participant_node.data import Preprocessor, infer_contract
from participant_node.model import build_model, get_flat
from participant_node.model.train import TrainSettings, train_local
from participant_node.scoring import Scorer, ScoringNet, export_model
from participant_node.scoring import scorer as scorer_module
from simulations.consortium.config import ConsortiumConfig
from simulations.consortium.generator import generate_consortium

RESULTS = Path(__file__).parent / "results" / "scoring_batch.json"
TARGET_BATCH_S = 2.0
HIDDEN = 32
console = Console(width=150)


class _PreviousNet:
    """A ``ScoringNet`` whose attributions use the previous method (the path walk)."""

    def __init__(self, net: ScoringNet) -> None:
        self._net = net

    def __getattr__(self, name: str) -> Any:
        return getattr(self._net, name)

    def attribute(self, x: np.ndarray, reference: np.ndarray) -> np.ndarray:
        return self._net.attribute(x, reference, method="walk")


def previous_score(scorer: Scorer, rows: pd.DataFrame) -> Any:
    """``scorer.score`` as the previous scorer ran it: the collector left on while the
    results are built (the scorer now defers it; ``scorer._net`` is a :class:`_PreviousNet`)."""
    deferred = scorer_module._gc_deferred
    scorer_module._gc_deferred = contextlib.nullcontext  # type: ignore[assignment]
    try:
        return scorer.score(rows)
    finally:
        scorer_module._gc_deferred = deferred


def member_rows(n_rows: int, seed: int) -> pd.DataFrame:
    """``n_rows`` pooled member rows of a synthetic consortium (company_id kept)."""
    cons = generate_consortium(ConsortiumConfig(n_companies=n_rows, n_members=3, seed=seed))
    pooled = pd.concat(list(cons.members.values()), ignore_index=True)
    if len(pooled) < n_rows:
        more = pooled.sample(n_rows - len(pooled), replace=True, random_state=seed)
        pooled = pd.concat([pooled, more], ignore_index=True)
    return pooled.iloc[:n_rows].reset_index(drop=True)


def train_artifacts(rows: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """Infer the contract, train both models briefly, export their model files."""
    contract = infer_contract(rows, label="default_6m", positive="1", id_column="company_id")
    pre = Preprocessor(contract)
    x, y = pre.transform(rows), pre.labels(rows).astype(np.float64)
    paths = {}
    for kind in ("logistic", "mlp"):
        model = build_model(kind, x.shape[1], hidden=HIDDEN, seed=3)
        train_local(model, x, y, TrainSettings(epochs=3, learning_rate=0.05), seed=3)
        paths[kind] = folder / f"{kind}.json"
        export_model(
            paths[kind], flat=get_flat(model), kind=kind, hidden=HIDDEN, contract=contract,
            run_id="bench", round=1, attestations=[], reference=x.mean(axis=0),
        )  # fmt: skip
    return paths


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median seconds of each function, run in turn ``repeats`` times after a warm-up call."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def run_model(path: Path, rows: pd.DataFrame, repeats: int) -> dict[str, Any]:
    """Time attributions and whole batches with both methods for one model file."""
    ours = Scorer.load(path)
    previous = Scorer.load(path)
    previous._net = _PreviousNet(previous._net)  # type: ignore[assignment]  # the old method
    net, ref = ours._net, ours.artifact.reference
    x = Preprocessor(ours.artifact.contract).transform(rows).astype(np.float64)
    a_new = net.attribute(x, ref)
    a_old = net.attribute(x, ref, method="walk")
    gap = net.logit(x) - net.logit(ref[None, :])[0]
    att = interleaved(
        {
            "previous": lambda: net.attribute(x, ref, method="walk"),
            "ours": lambda: net.attribute(x, ref),
        },
        repeats,
    )
    batch = interleaved(
        {"previous": lambda: previous.score(rows), "ours": lambda: ours.score(rows)}, repeats
    )
    same = [r.to_dict() for r in previous.score(rows[:200])] == [
        r.to_dict() for r in ours.score(rows[:200])
    ]
    out: dict[str, Any] = {
        "rows": len(rows),
        "design_width": int(x.shape[1]),
        "attribution_previous_s": round(att["previous"], 4),
        "attribution_ours_s": round(att["ours"], 4),
        "attribution_speedup": round(att["previous"] / max(att["ours"], 1e-9), 2),
        "batch_previous_s": round(batch["previous"], 4),
        "batch_ours_s": round(batch["ours"], 4),
        "batch_speedup": round(batch["previous"] / max(batch["ours"], 1e-9), 2),
        "max_abs_diff_vs_previous": float(np.abs(a_new - a_old).max()),
        "completeness_max_error": float(np.abs(a_new.sum(axis=1) - gap).max()),
        "max_abs_logit_gap": float(np.abs(gap).max()),
        "first_200_results_identical": same,
    }
    if net.kind == "mlp":
        (w1, b1), _, _ = net.layers
        a1 = np.broadcast_to(ref, x.shape) @ w1.T + b1
        c1 = (x - ref) @ w1.T
        with np.errstate(divide="ignore", invalid="ignore"):
            roots = -a1 / c1
        kinks = ((c1 != 0) & (roots > 0) & (roots < 1)).sum(axis=1)
        out["layer1_kinks_mean"] = round(float(kinks.mean()), 2)
        out["layer1_kinks_max"] = int(kinks.max())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 rows, one repeat")
    parser.add_argument("--rows", type=int, default=None, help="rows to score (default 10,000)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    n_rows = args.rows or (1_000 if args.quick else 10_000)
    repeats = 1 if args.quick else 3
    rows = member_rows(n_rows, seed=7)
    with tempfile.TemporaryDirectory() as tmp:
        paths = train_artifacts(rows, Path(tmp))
        models = {kind: run_model(path, rows, repeats) for kind, path in paths.items()}
    table = Table(
        title=f"scoring a batch of {n_rows:,} rows with reason codes (median of {repeats})"
    )
    for col in (
        "model",
        "part",
        "previous s",
        "ours s",
        "speed-up",
        "max |diff|",
        "completeness err",
    ):
        table.add_column(col, justify="left" if col in ("model", "part") else "right")
    for kind, m in models.items():
        for part in ("attribution", "batch"):
            table.add_row(
                kind, part, f"{m[f'{part}_previous_s']:.3f}", f"{m[f'{part}_ours_s']:.3f}",
                f"{m[f'{part}_speedup']:.1f}x", f"{m['max_abs_diff_vs_previous']:.1e}",
                f"{m['completeness_max_error']:.1e}",
            )  # fmt: skip
    console.print(table)
    mlp = models["mlp"]
    result = {
        "benchmark": "scoring_batch",
        "mode": "quick" if args.quick else "full",
        "rows": n_rows,
        "repeats": repeats,
        "hidden": HIDDEN,
        "models": models,
        "mlp_batch_ours_s": mlp["batch_ours_s"],
        "mlp_attribution_speedup": mlp["attribution_speedup"],
        "target_batch_s": TARGET_BATCH_S,
        "targets_apply": not args.quick and n_rows == 10_000,
        "target_met": mlp["batch_ours_s"] <= TARGET_BATCH_S
        and models["logistic"]["batch_ours_s"] <= TARGET_BATCH_S,
        "machine": describe_machine("numpy", "pandas"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    console.print(
        f"MLP batch of {n_rows:,}: {mlp['batch_ours_s']:.2f} s (target <= {TARGET_BATCH_S} s "
        f"for 10k); attributions {mlp['attribution_speedup']:.1f}x faster than the path walk; "
        f"load average {result['machine']['load_average_1m']} on {result['machine']['cores']} "
        f"cores; wrote {args.out}"
    )


if __name__ == "__main__":
    main()
