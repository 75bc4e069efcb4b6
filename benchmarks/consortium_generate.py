"""Synthetic consortium generation at 20k and 500k companies (``--quick``: 2k).

For every size it measures

* generation, stage by stage (companies, ownership, guarantees, labels, members, and building
  the string tables), and writing every CSV plus ``consortium.json`` to a temporary directory;
* the edge counts (shareholdings, guarantees) and bytes on disk;
* guarantee-cycle membership (the label model's circle indicator), ours
  (``scipy.sparse.csgraph`` strongly connected components, as the generator uses) vs the
  peer ``networkx.strongly_connected_components`` on the same graph; both must mark the same
  companies.

Prints a table and writes ``benchmarks/results/consortium_generate.json`` (``--out``
elsewhere), with a description of the machine and its load average (the machine may be
shared, so note contention when reading the numbers).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from support.machine import describe_machine  # noqa: E402  (benchmarks/ helper)

from simulations.consortium import ConsortiumConfig, generate_consortium  # noqa: E402
from simulations.consortium.config import STAGES  # noqa: E402
from simulations.consortium.labels import cycle_components  # noqa: E402
from simulations.consortium.writer import write_consortium  # noqa: E402

FULL_SIZES = (20_000, 500_000)
QUICK_SIZES = (2_000,)


def _machine() -> dict[str, Any]:
    """This machine, for the results file."""
    return describe_machine("numpy", "pandas", "scipy", "networkx")


def _cycle_peer(frames_guarantees: pd.DataFrame, company_ids: pd.Series) -> dict[str, Any]:
    """Cycle membership: scipy csgraph (ours) vs networkx SCC on the written edges."""
    index = pd.Index(company_ids)
    src = index.get_indexer(frames_guarantees["guarantor_id"])
    dst = index.get_indexer(frames_guarantees["borrower_id"])
    start = time.perf_counter()
    _, ours = cycle_components(len(index), src, dst)
    ours_s = time.perf_counter() - start

    start = time.perf_counter()
    g = nx.DiGraph()
    g.add_nodes_from(range(len(index)))
    g.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    peer = np.zeros(len(index), dtype=bool)
    for comp in nx.strongly_connected_components(g):
        if len(comp) > 1:
            peer[list(comp)] = True
    peer_s = time.perf_counter() - start
    return {
        "ours_seconds": ours_s,
        "networkx_seconds": peer_s,
        "speedup": peer_s / ours_s if ours_s > 0 else float("inf"),
        "agree": bool(np.array_equal(ours, peer)),
        "companies_on_cycles": int(ours.sum()),
    }


def run_size(n: int, members: int, seed: int) -> dict[str, Any]:
    """Generate, write and check one consortium of ``n`` companies."""
    marks: dict[str, float] = {}
    start = time.perf_counter()
    cons = generate_consortium(
        ConsortiumConfig(n_companies=n, n_members=members, seed=seed),
        progress=lambda stage: marks.__setitem__(stage, time.perf_counter()),
    )
    generated = time.perf_counter()
    stages: dict[str, float] = {}
    previous = start
    for stage in STAGES:
        stages[stage] = marks[stage] - previous
        previous = marks[stage]
    stages["generate_other"] = generated - previous
    with tempfile.TemporaryDirectory(prefix="consortium-bench-") as tmp:
        write_start = time.perf_counter()
        out = write_consortium(cons, Path(tmp) / "out")
        write_s = time.perf_counter() - write_start
        disk = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    counts = cons.counts()
    rows = sum(s["rows"] for s in cons.member_stats().values())
    return {
        "companies": n,
        "members": members,
        "generate_seconds": generated - start,
        "write_seconds": write_s,
        "total_seconds": generated - start + write_s,
        "stage_seconds": stages,
        "shareholding_edges": counts["shareholdings"],
        "guarantee_edges": counts["guarantees"],
        "edges": counts["shareholdings"] + counts["guarantees"],
        "persons": counts["persons"],
        "member_rows": rows,
        "guarantee_circles": counts["guarantee_circles"],
        "observed_defaults": counts["defaults"],
        "bytes_on_disk": disk,
        "cycle_membership": _cycle_peer(cons.graph.guarantees, cons.graph.companies["company_id"]),
    }


def _table(results: list[dict[str, Any]]) -> Table:
    table = Table(title="consortium generation")
    for col in ("companies", "edges", "generate s", "write s", "total s", "MB",
                "cycles: ours s", "networkx s", "ratio", "agree"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in results:
        peer = r["cycle_membership"]
        table.add_row(
            f"{r['companies']:,}",
            f"{r['edges']:,}",
            f"{r['generate_seconds']:.2f}",
            f"{r['write_seconds']:.2f}",
            f"{r['total_seconds']:.2f}",
            f"{r['bytes_on_disk'] / 1e6:.1f}",
            f"{peer['ours_seconds']:.3f}",
            f"{peer['networkx_seconds']:.3f}",
            f"{peer['speedup']:.1f}x",
            str(peer["agree"]),
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2k companies only")
    parser.add_argument("--sizes", type=str, default=None, help="comma-separated sizes")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "consortium_generate.json"
    )
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    else:
        sizes = QUICK_SIZES if args.quick else FULL_SIZES
    machine = _machine()
    results = [run_size(n, args.members, args.seed) for n in sizes]
    Console(width=150).print(_table(results))
    scaling: dict[str, Any] = {}
    if len(results) >= 2:
        small, big = results[0], results[-1]
        scale = (big["total_seconds"] / small["total_seconds"]) / (
            big["companies"] / small["companies"]
        )
        print(f"time ratio / size ratio ({small['companies']} -> {big['companies']}): {scale:.2f}")
        scaling = {
            "from": small["companies"],
            "to": big["companies"],
            "time_per_company_ratio": scale,
        }
    payload = {
        "benchmark": "consortium_generate",
        "description": __doc__,
        "quick": bool(args.quick),
        "machine": machine,
        "results": results,
        "scaling": scaling,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
