"""DP-SGD cost: time per epoch of Opacus DP-SGD vs plain SGD, same model, data and batch size.

Compares every Opacus per-example-gradient mode (``hooks``, ``ew`` = expanded weights,
``functorch``) for the logistic scorecard and the MLP against the non-private loop
(``participant_node.model.train_local``), on one thread (a member's ClientApp runs with
``torch.set_num_threads(1)``). ``slowdown`` is best DP mode / non-private for the MLP.

Usage: ``python benchmarks/dp_sgd.py [--quick] [--out PATH]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from support.machine import describe_machine

from participant_node.model import ModelSpec, TrainSettings, build_from_spec, train_local
from participant_node.model.dp_train import train_local_dp
from privacy.dp import DPSettings

MODES = ("fused", "hooks", "ew", "functorch", "ghost")


def machine() -> dict[str, Any]:
    """This machine, for the results file."""
    return describe_machine("torch", "opacus")


def best_of(fn: Any, repeats: int) -> float:
    """Minimum wall time of ``repeats`` calls (least disturbed by other processes)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run(rows: int, features: int, batch: int, repeats: int) -> dict[str, Any]:
    """Time one epoch of every variant; return the results dict."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    y = (rng.random(rows) < 0.08).astype(np.float32)
    settings = TrainSettings(epochs=1, batch_size=batch, learning_rate=0.05)
    dp = DPSettings(
        clip_norm=1.0,
        noise_multiplier=1.0,
        sample_rate=batch / rows,
        local_steps=rows // batch,
        delta=1e-5,
    )
    table: dict[str, dict[str, float]] = {}
    for kind in ("logistic", "mlp"):
        spec = ModelSpec(kind=kind, n_features=features, hidden=32)
        row = {
            "non_private": best_of(
                lambda s=spec: train_local(build_from_spec(s, seed=0), x, y, settings, seed=0),
                repeats,
            )
        }
        for mode in MODES:
            row[mode] = best_of(
                lambda s=spec, m=mode: train_local_dp(
                    build_from_spec(s, seed=0), x, y, settings, dp, grad_sample_mode=m
                ),
                repeats,
            )
        table[kind] = row
    best_mode = min(MODES, key=lambda m: table["mlp"][m])
    return {
        "rows": rows,
        "features": features,
        "batch_size": batch,
        "repeats": repeats,
        "seconds_per_epoch": table,
        "best_mode_mlp": best_mode,
        "slowdown": table["mlp"][best_mode] / table["mlp"]["non_private"],
        "slowdown_logistic": min(table["logistic"][m] for m in MODES)
        / table["logistic"]["non_private"],
        "target_slowdown": 2.5,
        "machine": machine(),
    }


def main() -> None:
    """Entry point."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small run (used by the test suite)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "dp_sgd.json")
    args = ap.parse_args()
    res = run(2_000, 20, 64, 1) if args.quick else run(20_000, 40, 256, 3)
    res["quick"] = args.quick
    print(f"{'model':<10}{'non-private':>12}" + "".join(f"{m:>12}" for m in MODES))
    for kind, row in res["seconds_per_epoch"].items():
        print(f"{kind:<10}{row['non_private']:>12.3f}" + "".join(f"{row[m]:>12.3f}" for m in MODES))
    print(
        f"slowdown (MLP, best mode {res['best_mode_mlp']}): {res['slowdown']:.2f}x "
        f"(target <= {res['target_slowdown']}x)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
