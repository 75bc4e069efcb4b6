"""Relationship-graph algorithms at scale: the feature table, circles and components.

Builds a synthetic registry (``--companies`` companies, ~1.2 shareholdings and ~0.8
guarantees per company: person owners, parent companies, a few cross-holdings, random
guarantee chains, planted guarantee circles and dense guarantee clusters), or loads the CSVs
written by ``fedcredit sim generate`` with ``--data DIR``, then measures

* the full feature table (``graph_risk.features.compute_features``) in a fresh child process
  that reads the tables from Parquet, with its peak RSS;
* guarantee-circle detection, ours vs ``networkx.simple_cycles(G, length_bound=L)`` on the
  same graph (identical circles required); when networkx would take too long on the whole
  graph it runs on a sample of guarantee groups and the time is scaled up by edge share;
* strongly connected components, ``scipy.sparse.csgraph`` vs
  ``networkx.strongly_connected_components``.

Prints a table and writes ``benchmarks/results/graph_scale.json`` (``--out`` elsewhere).
``--quick`` runs ~5k companies.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import networkx as nx
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from support.machine import describe_machine  # noqa: E402  (benchmarks/ helper)

from graph_risk.algorithms._sparse import strong_components  # noqa: E402
from graph_risk.algorithms.circles import circle_arrays, cyclic_edges  # noqa: E402
from graph_risk.build import GuaranteeGraph, guarantee_graph  # noqa: E402
from graph_risk.features import compute_features  # noqa: E402
from graph_risk.frames import TABLE_COLUMNS, GraphFrames  # noqa: E402

TABLES = tuple(TABLE_COLUMNS)
T = TypeVar("T")


def synthetic_frames(n: int, seed: int = 7) -> GraphFrames:
    """A random registry of ``n`` companies shaped like real ones (see module docstring)."""
    rng = np.random.default_rng(seed)
    company = np.array([f"C{i:07d}" for i in range(n)], dtype=object)
    n_persons = max(int(0.6 * n), 1)
    person = np.array([f"P{i:07d}" for i in range(n_persons)], dtype=object)
    net = rng.lognormal(15, 1.2, n) * np.where(rng.random(n) < 0.03, -0.2, 1.0)
    companies = pd.DataFrame(
        {
            "company_id": company,
            "name": company,
            "industry": rng.choice(["manufacturing", "trade", "services", "construction"], n),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "registered_capital": rng.lognormal(14, 1.0, n),
            "total_assets": np.abs(net) * rng.uniform(1.5, 4.0, n),
            "net_assets": net,
            "founded_year": rng.integers(1990, 2023, n),
        }
    )
    holder, kind, held, share = [], [], [], []
    owner = rng.integers(0, n_persons, n)
    has_parent = rng.random(n) < 0.25
    has_parent[0] = False
    parent = (rng.random(n) * np.arange(n)).astype(np.int64)
    parent_share = rng.uniform(0.3, 0.9, n)
    rest = np.where(has_parent, 1.0 - parent_share, 1.0)
    first = rng.uniform(0.3, 1.0, n) * rest
    second = rng.random(n) < 0.25
    idx = np.arange(n)
    holder += [company[parent[has_parent]], person[owner]]
    kind += [np.full(has_parent.sum(), "company"), np.full(n, "person")]
    held += [company[idx[has_parent]], company]
    share += [parent_share[has_parent], first]
    holder.append(person[rng.integers(0, n_persons, second.sum())])
    kind.append(np.full(second.sum(), "person"))
    held.append(company[idx[second]])
    share.append((rest[second] - first[second]) * rng.uniform(0.1, 0.9, second.sum()))
    pairs = rng.choice(n, size=(max(n // 500, 1), 2), replace=False)
    for a, b in pairs:
        if a == b:
            continue
        holder.append(np.array([company[a], company[b]], dtype=object))
        kind.append(np.array(["company", "company"]))
        held.append(np.array([company[b], company[a]], dtype=object))
        free = 0.0  # the cross stake comes out of the first person's stake
        share.append(np.array([0.05, 0.05]) + free)
    sh = pd.DataFrame(
        {
            "holder_id": np.concatenate(holder),
            "holder_type": np.concatenate(kind),
            "company_id": np.concatenate(held),
            "share": np.concatenate(share).astype(float),
        }
    )
    totals = sh.groupby("company_id")["share"].transform("sum")
    sh["share"] = np.where(totals > 0.999, sh["share"] * 0.999 / totals, sh["share"])
    address = np.array([f"{k} Road" for k in range(n)], dtype=object)
    same_site = has_parent & (rng.random(n) < 0.1)
    address[same_site] = address[parent[same_site]]
    hub = rng.random(n) < 0.01
    address[hub] = np.array([f"Registered agent {k}" for k in rng.integers(0, 20, hub.sum())])
    companies["legal_rep_id"] = person[owner]
    companies["address"] = address
    companies["phone"] = np.array([f"+86-{k:08d}" for k in range(n)], dtype=object)
    g_src, g_dst = [], []
    n_random = int(0.65 * n)
    src = rng.integers(0, n, n_random)
    g_src.append(src)
    g_dst.append((src + rng.integers(1, 2000, n_random)) % n)
    in_circle = rng.choice(n, size=int(0.04 * n), replace=False)
    pos = 0
    while pos + 2 <= len(in_circle):
        k = int(rng.integers(2, 7))
        ring = in_circle[pos : pos + k]
        pos += k
        if len(ring) < 2:
            break
        g_src.append(ring)
        g_dst.append(np.roll(ring, -1))
    for _ in range(max(n // 2000, 1)):
        members = rng.choice(n, size=int(rng.integers(8, 20)), replace=False)
        m = len(members)
        edges = int(2.2 * m)
        g_src.append(members[rng.integers(0, m, edges)])
        g_dst.append(members[rng.integers(0, m, edges)])
    gs, gd = np.concatenate(g_src), np.concatenate(g_dst)
    keep = gs != gd
    gs, gd = gs[keep], gd[keep]
    start = np.datetime64("2016-01-01") + rng.integers(0, 3000, len(gs)).astype("timedelta64[D]")
    end = start + rng.integers(365, 1800, len(gs)).astype("timedelta64[D]")
    guarantees = pd.DataFrame(
        {
            "guarantor_id": company[gs],
            "borrower_id": company[gd],
            "amount": np.round(rng.lognormal(13, 1.0, len(gs)), 2),
            "start_date": start.astype(str),
            "end_date": end.astype(str),
        }
    )
    bad = rng.choice(n, size=max(int(0.03 * n), 1), replace=False)
    defaults = pd.DataFrame(
        {
            "company_id": company[bad],
            "default_date": (
                np.datetime64("2019-01-01")
                + rng.integers(0, 1500, len(bad)).astype("timedelta64[D]")
            ).astype(str),
        }
    )
    persons = pd.DataFrame({"person_id": person, "name": person})
    return GraphFrames(
        companies=companies,
        persons=persons,
        shareholdings=sh,
        guarantees=guarantees,
        defaults=defaults,
    )


def load_csv_frames(directory: Path) -> GraphFrames:
    """Tables written by ``fedcredit sim generate`` (``<table>.csv`` per table)."""
    tables = {}
    for name in TABLES:
        path = directory / f"{name}.csv"
        if not path.exists():
            raise SystemExit(f"error: {path} not found (expected the {name} table)")
        tables[name] = pd.read_csv(
            path,
            dtype={
                c: str
                for c in ("company_id", "holder_id", "person_id", "guarantor_id", "borrower_id")
            },
        )
    return GraphFrames(**tables)


def _child_features(directory: str) -> None:
    """Child process: read Parquet tables, compute the feature table, print JSON."""
    start = time.perf_counter()
    frames = GraphFrames(**{t: pd.read_parquet(Path(directory) / f"{t}.parquet") for t in TABLES})
    loaded = time.perf_counter()
    timings: dict[str, float] = {}
    table = compute_features(frames, timings=timings)
    done = time.perf_counter()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "load_seconds": loaded - start,
                "feature_table_seconds": done - loaded,
                "peak_rss_gb": peak_kb / 1024**2,
                "rows": len(table),
                "stages": timings,
            }
        )
    )


def _canon(cycle: list[str]) -> tuple[str, ...]:
    i = cycle.index(min(cycle))
    return tuple(cycle[i:] + cycle[:i])


def _best_of(repeats: int, fn: Callable[[], T]) -> tuple[float, T]:
    """Fastest of ``repeats`` runs and the last result."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _networkx_graph(graph: GuaranteeGraph) -> nx.DiGraph:
    """The guarantee graph as the nx.DiGraph networkx users would hold."""
    digraph = nx.DiGraph()
    digraph.add_nodes_from(graph.ids.tolist())
    coo = graph.amount.tocoo()
    digraph.add_edges_from(
        zip(graph.ids[coo.row].tolist(), graph.ids[coo.col].tolist(), strict=True)
    )
    return digraph


def _networkx_cycles(
    digraph: nx.DiGraph, length: int, budget_s: float
) -> tuple[float, set[tuple[str, ...]] | None]:
    """Time ``nx.simple_cycles``; ``None`` when it ran past ``budget_s`` (checked per cycle)."""
    found: set[tuple[str, ...]] = set()
    start = time.perf_counter()
    for cycle in nx.simple_cycles(digraph, length_bound=length):
        if len(cycle) >= 2:
            found.add(_canon(cycle))
        if time.perf_counter() - start > budget_s:
            return time.perf_counter() - start, None
    return time.perf_counter() - start, found


def measure_cycles(graph: GuaranteeGraph, length: int, budget_s: float) -> dict[str, object]:
    """Ours (best of 3) vs networkx (one run; a 10% sample of groups when over budget)."""
    ours_s, arrays = _best_of(3, lambda: circle_arrays(graph, length))
    ours = {tuple(str(x) for x in graph.ids[row]) for rows in arrays.values() for row in rows}
    digraph = _networkx_graph(graph)
    nx_s, theirs = _networkx_cycles(digraph, length, budget_s)
    sampled, scale, compared = False, 1.0, ours
    if theirs is None:
        inner, nodes = cyclic_edges(graph.pattern())
        groups = list(nx.strongly_connected_components(digraph.subgraph(graph.ids[nodes])))
        rng = np.random.default_rng(0)
        pick = rng.choice(len(groups), size=max(len(groups) // 10, 1), replace=False)
        keep = set().union(*(groups[i] for i in pick))
        sample = digraph.subgraph(keep).copy()
        sample_s, theirs = _networkx_cycles(sample, length, float("inf"))
        scale = inner.nnz / max(sample.number_of_edges(), 1)
        nx_s, sampled = sample_s * scale, True
        compared = {c for c in ours if set(c) <= keep}
    return {
        "circle_length_bound": length,
        "circles": len(ours),
        "cycle_seconds_ours": ours_s,
        "cycle_seconds_networkx": nx_s,
        "cycle_networkx_sampled": sampled,
        "cycle_networkx_scale_factor": scale,
        "cycles_compared": len(compared),
        "cycle_speedup_vs_networkx": nx_s / max(ours_s, 1e-9),
        "identical_cycles": theirs == compared,
        "_digraph": digraph,
    }


def measure_components(graph: GuaranteeGraph, digraph: nx.DiGraph) -> dict[str, object]:
    """Strong components: scipy.sparse.csgraph (best of 3) vs networkx (one run)."""
    pattern = graph.pattern()
    ours_s, (labels, sizes) = _best_of(3, lambda: strong_components(pattern))
    start = time.perf_counter()
    theirs = list(nx.strongly_connected_components(digraph))
    nx_s = time.perf_counter() - start
    index = {cid: i for i, cid in enumerate(graph.ids.tolist())}
    same = len(theirs) == len(sizes) and all(
        len({int(labels[index[v]]) for v in comp}) == 1 for comp in theirs
    )
    return {
        "guarantee_groups": int((sizes >= 2).sum()),
        "largest_group": int(sizes.max()) if len(sizes) else 0,
        "components_seconds_ours": ours_s,
        "components_seconds_networkx": nx_s,
        "components_speedup_vs_networkx": nx_s / max(ours_s, 1e-9),
        "identical_components": bool(same),
    }


def run(
    n: int, out: Path, data: Path | None, length: int = 6, budget_s: float = 300.0
) -> dict[str, object]:
    """Run every measurement, print the table, write the JSON."""
    console = Console()
    t0 = time.perf_counter()
    frames = load_csv_frames(data) if data else synthetic_frames(n)
    generate_seconds = time.perf_counter() - t0
    n_companies = len(frames.companies)
    with tempfile.TemporaryDirectory() as tmp:
        for name in TABLES:
            frames.table(name).to_parquet(Path(tmp) / f"{name}.parquet", index=False)
        child = subprocess.run(
            [sys.executable, __file__, "--child-features", tmp],
            capture_output=True,
            text=True,
            check=False,
        )
    if child.returncode != 0:
        raise SystemExit(f"error: feature-table child failed:\n{child.stderr[-4000:]}")
    feature = json.loads(child.stdout.strip().splitlines()[-1])
    graph = guarantee_graph(frames)
    cycles = measure_cycles(graph, length, budget_s)
    digraph = cycles.pop("_digraph")
    components = measure_components(graph, digraph)  # type: ignore[arg-type]

    result: dict[str, object] = {
        "companies": n_companies,
        "persons": len(frames.persons),
        "shareholding_edges": len(frames.shareholdings),
        "guarantee_edges": len(frames.guarantees),
        "edges_total": len(frames.shareholdings) + len(frames.guarantees),
        "source": str(data) if data else "synthetic (benchmarks/graph_scale.py)",
        "generate_seconds": generate_seconds,
        "feature_table_seconds": feature["feature_table_seconds"],
        "feature_load_seconds": feature["load_seconds"],
        "feature_stage_seconds": feature["stages"],
        "peak_rss_gb": feature["peak_rss_gb"],
        **cycles,
        **components,
        "machine": _machine(),
        "note": "feature table in a fresh child process reading Parquet (load time excluded, "
        "peak RSS of that process); ours timed best of 3 on CSR arrays, networkx once "
        "on a prebuilt nx.DiGraph; the machine was shared with other jobs",
    }
    table = Table(title=f"graph_scale ({n_companies:,} companies)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in (
        "edges_total",
        "feature_table_seconds",
        "peak_rss_gb",
        "circles",
        "cycle_seconds_ours",
        "cycle_seconds_networkx",
        "cycle_speedup_vs_networkx",
        "identical_cycles",
        "components_seconds_ours",
        "components_seconds_networkx",
        "components_speedup_vs_networkx",
    ):
        value = result[key]
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, out)
    return result


def _machine() -> dict[str, Any]:
    """This machine, for the results file."""
    return describe_machine("numpy", "scipy", "pandas", "networkx", "pyarrow")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~5k companies")
    parser.add_argument("--companies", type=int, default=500_000)
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="directory with the CSVs of `fedcredit sim generate`",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/graph_scale.json")
    parser.add_argument(
        "--networkx-budget",
        type=float,
        default=300.0,
        help="seconds networkx may spend on the whole graph before it is timed "
        "on a 10%% sample of guarantee groups instead",
    )
    parser.add_argument("--child-features", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_features:
        _child_features(args.child_features)
        return
    n = 5_000 if args.quick else args.companies
    if n < 10:
        parser.error(f"--companies must be >= 10; got {n}")
    run(n, args.out, args.data, budget_s=args.networkx_budget)


if __name__ == "__main__":
    main()
