"""Utility targets, side by side in one run through the real path (``fedcredit sim run`` on
Flower's simulation engine), same seed and splits within each data set:

- lending_club by state (6 members, logistic): private federated (DP epsilon 3 + packed
  Paillier) vs non-private federated vs centralised vs local-only;
- synthetic 20k consortium (5 members): the same, and with vs without graph features.

Reports ``private_gap`` (non-private federated AUC - private federated AUC; target <= 0.02) and
``graph_lift`` (with - without graph features; target >= 0.03).

Usage: ``python benchmarks/utility.py [--quick] [--out PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from simulations.consortium import ConsortiumConfig, generate_consortium, write_consortium
from simulations.experiments.simrun import SimRunConfig, run

ROOT = Path(__file__).resolve().parents[1]


def _auc(cfg: SimRunConfig) -> dict[str, Any]:
    rep = run(cfg, progress=lambda _m: None)
    out = {
        "federated_auc": rep["federated"]["auc"],
        "epsilon": rep["privacy"]["epsilon"],
        "encryption": rep["privacy"]["encryption"],
        "seconds_per_round": rep["cost"]["seconds_per_round"],
    }
    if "centralized" in rep:
        out["centralized_auc"] = rep["centralized"]["auc"]
        out["local_only_auc_mean"] = rep["local_only"]["auc_mean"]
    return out


def _non_private(out: Path, **kwargs: Any) -> SimRunConfig:
    """The non-private reference (explicit opt-outs) with baselines, same splits."""
    return SimRunConfig(
        out=out, dp=False, encryption="none", insecure_plaintext=True, baselines=True, **kwargs
    )


def measure(work: Path, companies: int, rounds: int, key_bits: int) -> dict[str, Any]:
    """Run every configuration; return the results dict."""
    lc = {
        "data": ROOT / "data" / "lending_club.csv",
        "label": "Class",
        "positive": "bad",
        "members": 6,
        "partition": "column:addr_state",
        "rounds": rounds,
        "seed": 42,
        "key_bits": key_bits,
    }
    res: dict[str, Any] = {
        "lending_club": {
            "non_private": _auc(_non_private(work / "lc-np", **lc)),
            "private": _auc(SimRunConfig(out=work / "lc-p", **lc)),
        }
    }
    write_consortium(
        generate_consortium(ConsortiumConfig(n_companies=companies, n_members=5, seed=42)),
        work / "c",
    )
    syn = {
        "consortium": work / "c",
        "label": "default_6m",
        "positive": "1",
        "partition": "member",
        "rounds": rounds,
        "seed": 42,
        "key_bits": key_bits,
    }
    res["synthetic"] = {
        "non_private": _auc(_non_private(work / "s-np", **syn)),
        "private": _auc(SimRunConfig(out=work / "s-p", **syn)),
        "non_private_graph": _auc(_non_private(work / "s-npg", graph_features="auto", **syn)),
        "private_graph": _auc(SimRunConfig(out=work / "s-pg", graph_features="auto", **syn)),
    }
    for name in ("lending_club", "synthetic"):
        r = res[name]
        r["private_gap"] = r["non_private"]["federated_auc"] - r["private"]["federated_auc"]
    s = res["synthetic"]
    s["graph_lift"] = s["non_private_graph"]["federated_auc"] - s["non_private"]["federated_auc"]
    s["graph_lift_private"] = s["private_graph"]["federated_auc"] - s["private"]["federated_auc"]
    s["private_gap_graph"] = (
        s["non_private_graph"]["federated_auc"] - s["private_graph"]["federated_auc"]
    )
    return res


def main() -> None:
    """Entry point."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "utility.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        res = (
            measure(Path(tmp), 2000, 2, 2048)
            if args.quick
            else measure(Path(tmp), 20_000, 20, 3072)
        )
    res["quick"] = args.quick
    res["targets"] = {"private_gap_max": 0.02, "graph_lift_min": 0.03}
    res["machine"] = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_avg_1m": os.getloadavg()[0],
    }
    for name in ("lending_club", "synthetic"):
        for k, v in res[name].items():
            if isinstance(v, dict):
                print(
                    f"{name:<13}{k:<18} federated AUC {v['federated_auc']:.4f}"
                    + (
                        f"  centralised {v['centralized_auc']:.4f}  local-only "
                        f"{v['local_only_auc_mean']:.4f}"
                        if "centralized_auc" in v
                        else ""
                    )
                )
        print(f"{name:<13}private gap {res[name]['private_gap']:+.4f} (target <= 0.02)")
    print(f"synthetic    graph lift {res['synthetic']['graph_lift']:+.4f} (target >= 0.03)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
