"""HTTP API latency and throughput: member scoring and the risk-team neighbourhood query.

Every server runs in its own process, started with the real serve command (``python -m
simulations.serve``: ``fedcredit serve`` without importing the CLI's other commands), so the
load generator does not share a GIL with it; the three servers (ours, naive, risk) start
together and every measurement waits until all are up. Measured:

* server-side time of ``POST /v1/scores`` (1 company) through each app's ASGI interface in
  this process -- ours (auth, audit, scoring, serialisation) vs the naive app -- with nothing
  competing for the cores; and our cProfile top functions (``profile_top_own_time``);
* ``POST /v1/scores`` with one company, 16 concurrent keep-alive clients on loopback:
  p50/p99 latency and requests per second -- with ``wrk`` (a Lua script adds the POST body and
  the bearer header) in the full run, with a Python load generator (16 threads) in ``--quick``.
  Side by side, the same load against a *naive* server: a bare FastAPI handler that scores each
  request through the pandas batch path (``Scorer.score(DataFrame)``), no auth, no audit;
* ``POST /v1/scores`` with a batch of 10,000 companies (median of 3; 1 in ``--quick``);
* ``GET /v1/graph/companies/{id}/neighbourhood?hops=2&limit=200`` p50/p95 on a consortium of
  ``--companies`` (500,000 in the full run; generated once with ``fedcredit sim generate`` and
  ingested with ``fedcredit graph ingest`` into ``benchmarks/.cache``), vs the store's generic
  ``GraphBackend.ego_frames(c, 2)`` (in process, no HTTP) on the same companies;
* ``GET .../{id}/related-parties``: the first call (it builds the partition of the whole
  graph) and p50/p95 of the next 50, vs the uncached ``related_parties(frames, id)`` in
  process (it rebuilds the partition per call).

The development machine is shared (2 cores, other jobs running): the JSON records the load
average at the start and the end; compare ours with its peer *in the same run* (the ratios).
Prints a table, writes ``benchmarks/results/scoring_api.json`` (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fastapi import FastAPI, Request  # noqa: E402
from support.http_load import asgi_per_request, load_python, load_wrk  # noqa: E402
from support.machine import describe_machine  # noqa: E402  (benchmarks/ helper)

from simulations.serve import AuditLog, KeyStore  # noqa: E402

SERVE = [sys.executable, "-m", "simulations.serve"]  # `fedcredit serve` alone
CONCURRENCY = 16
TARGETS = {
    "p99_ms": 50.0,
    "requests_per_second": 300.0,
    "batch_10k_seconds": 2.0,
    "neighbourhood_p95_ms": 100.0,
}
console = Console()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process (its own process group) on ``port``; :meth:`wait` polls /healthz.

    Several are launched together so their start-ups (imports, graph loading) overlap, and
    every measurement starts only once all are up (a loading server would steal a core).
    """

    def __init__(self, cmd: list[str], port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in stop())
        self.started = time.perf_counter()
        self.ready_seconds = float("nan")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=self.log, stderr=self.log, start_new_session=True
        )

    def wait(self, timeout: float = 900.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"server exited: {self.log.read().decode()[-3000:]}")
            try:
                health = httpx.get(f"{self.base}/healthz", timeout=1)
                # the risk server is `ready` once its index built circles and related parties
                if health.status_code == 200 and health.json().get("ready", True):
                    self.ready_seconds = time.perf_counter() - self.started
                    return self.base
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.base} did not start in {timeout:.0f} s")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM: uvicorn shuts down gracefully (the audit log is drained)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------------------- the model
def make_model(member_csv: Path, out: Path) -> tuple[Path, pd.DataFrame]:
    """A logistic model artifact over the member's contract (weights random: scoring cost
    does not depend on their values) and the member's rows without the label."""
    from participant_node.data import Preprocessor, infer_contract
    from participant_node.scoring import ModelArtifact

    frame = pd.read_csv(member_csv)
    contract = infer_contract(frame, "default_6m", "1", "company_id")
    width = Preprocessor(contract).width
    params = np.random.default_rng(0).normal(0, 0.1, width + 1)
    ModelArtifact(
        kind="logistic",
        n_features=width,
        hidden=0,
        params=params,
        contract=contract,
        graph_feature_columns=(),
        reference=np.zeros(width),
        run_id="bench",
        round=1,
        attestation={"scheme": "paillier-packed"},
    ).save(out)
    return out, frame.drop(columns=["default_6m"])


def naive_app(model: str) -> FastAPI:
    """The naive baseline: pandas batch path per request, no auth, no audit."""
    from participant_node.scoring import Scorer

    scorer = Scorer.load(model)
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/scores")
    async def scores(request: Request) -> dict[str, Any]:
        body = await request.json()
        results = scorer.score(pd.DataFrame.from_records(body["companies"]))
        return {"results": [r.to_dict() for r in results]}

    return app


# ---------------------------------------------------------------------------- graph
def consortium(companies: int, cache: Path) -> tuple[Path, Path]:
    """``(consortium dir, ingested networkx store)``, generated once per size."""
    data, store = cache / f"c{companies}", cache / f"store{companies}"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / ".gitignore").write_text("*\n")  # hundreds of MB: never committed
    if not (data / "consortium.json").is_file():  # what `fedcredit sim generate` runs
        from simulations.consortium import ConsortiumConfig, generate_consortium
        from simulations.consortium.writer import write_consortium

        shutil.rmtree(data, ignore_errors=True)
        config = ConsortiumConfig(n_companies=companies, n_members=3, seed=11)
        write_consortium(generate_consortium(config), data)
    if not (store / "manifest.json").is_file():  # what `fedcredit graph ingest` runs
        from graph_risk.backends import open_backend
        from graph_risk.ingest import read_graph_dir

        shutil.rmtree(store, ignore_errors=True)
        frames, sources = read_graph_dir(data)
        with open_backend("networkx", store=store) as backend:
            backend.upsert(frames, sources)
    return data, store


def timed_gets(
    base: str, token: str, ids: list[str], what: str, params: dict[str, Any] | None = None
) -> tuple[float, np.ndarray]:
    """``GET /v1/graph/companies/{id}/{what}`` for every id: (first call ms, the rest in ms).
    The first call is apart: it pays for what the index builds on first use."""
    headers = {"Authorization": f"Bearer {token}"}
    out = []
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for cid in ids:
            t = time.perf_counter()
            r = client.get(f"/v1/graph/companies/{cid}/{what}", params=params)
            out.append((time.perf_counter() - t) * 1e3)
            if r.status_code != 200:
                raise SystemExit(f"{what} of {cid}: {r.status_code} {r.text[:200]}")
    return out[0], np.array(out[1:])


def generic(store: Path, ego_ids: list[str], related_ids: list[str]) -> dict[str, np.ndarray]:
    """The peers, in process: the store's generic ``ego_frames(c, 2)`` and the uncached
    ``related_parties(frames, c)`` (it rebuilds the whole partition per call)."""
    from graph_risk.algorithms.related import related_parties
    from graph_risk.backends import open_backend

    ego, related = [], []
    with open_backend("networkx", store=store) as backend:
        backend.ego_frames(ego_ids[0], 2)  # builds the store's networkx graph once
        for cid in ego_ids:
            t = time.perf_counter()
            backend.ego_frames(cid, 2)
            ego.append((time.perf_counter() - t) * 1e3)
        frames = backend.frames()
    for cid in related_ids:
        t = time.perf_counter()
        related_parties(frames, cid)
        related.append((time.perf_counter() - t) * 1e3)
    return {"ego": np.array(ego), "related": np.array(related)}


# ---------------------------------------------------------------------------- main
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 companies, Python load.")
    parser.add_argument("--companies", type=int, default=None)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per server.")
    parser.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / ".cache")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "scoring_api.json"
    )
    parser.add_argument("--serve-naive", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.companies = args.companies or (2_000 if args.quick else 500_000)
    if args.companies < 100:
        parser.error(f"--companies must be >= 100; got {args.companies}")
    return args


def serve_naive(model: str, port: int) -> None:
    import uvicorn

    uvicorn.run(
        naive_app(model),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


def in_process(model: Path, keys: str, token: str, body: str, tmp: Path, n: int) -> dict[str, Any]:
    """Server-side time per request, ours vs naive, through each ASGI app in this process (no
    HTTP client competing for the 2 cores), plus our cProfile top functions."""
    from simulations.serve import ServeSettings, create_app

    settings = ServeSettings(
        role="member", member_id="m01", model=model, keys=Path(keys), audit=tmp / "inproc.sqlite"
    )
    ours = asgi_per_request(
        create_app("member", settings), "/v1/scores", body.encode(), token, n, profile=True
    )
    naive = asgi_per_request(naive_app(str(model)), "/v1/scores", body.encode(), token, n)
    return {
        "server_us_per_request": ours["us_per_request"],
        "naive_server_us_per_request": naive["us_per_request"],
        "server_speedup_vs_naive": naive["us_per_request"] / ours["us_per_request"],
        "profile_top_own_time": ours["profile"],
    }


def main() -> None:
    args = parse_args()
    if args.serve_naive:
        serve_naive(args.serve_naive, args.port)
        return
    companies, quick = args.companies, args.quick
    use_wrk = not quick and shutil.which("wrk") is not None
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "scoring_api",
        "companies": companies,
        "concurrency": CONCURRENCY,
        "quick": quick,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    phases: dict[str, float] = {}

    def phase(name: str, since: float) -> float:
        now = time.perf_counter()
        phases[name] = round(now - since, 2)
        return now

    with tempfile.TemporaryDirectory() as tmp_dir, ExitStack() as stack:
        tmp = Path(tmp_dir)
        t = time.perf_counter()
        with console.status(f"consortium of {companies:,} companies"):
            data, store = consortium(companies, args.cache)
        model, rows = make_model(data / "members" / "m01.csv", tmp / "model.json")
        keys = str(tmp / "keys.sqlite")
        key_store = KeyStore(keys)  # what `fedcredit auth add-key` runs
        member_key = key_store.add("bench", "member", "m01")
        risk_key = key_store.add("risk", "risk_analyst")
        key_store.close()
        one = f'{{"companies": {rows.head(1).to_json(orient="records")}}}'
        tenk = pd.concat([rows] * (10_000 // len(rows) + 1)).head(10_000)
        batch = f'{{"companies": {tenk.to_json(orient="records")}}}'
        common = ["--keys", keys]
        servers = {
            "member": Server(
                [
                    *SERVE,
                    *("--role", "member", "--member-id", "m01", "--model", str(model)),
                    *common,
                    *("--audit", str(tmp / "audit.sqlite"), "--port", str(port := free_port())),
                ],
                port,
            ),
            "naive": Server(
                [
                    sys.executable,
                    __file__,
                    "--serve-naive",
                    str(model),
                    "--port",
                    str(p2 := free_port()),
                ],
                p2,
            ),
            "risk": Server(
                [
                    *SERVE,
                    *("--role", "risk", "--store", str(store)),
                    *common,
                    *("--audit", str(tmp / "audit-risk.sqlite"), "--port", str(p3 := free_port())),
                ],
                p3,
            ),
        }
        for srv in servers.values():
            stack.callback(srv.stop)
        t = phase("generate_and_model", t)
        with console.status("starting the member, naive and risk servers (together)"):
            bases = {name: srv.wait() for name, srv in servers.items()}
        t = phase("servers_up", t)
        with console.status("in process: server-side time per request, ours vs naive"):
            result.update(in_process(model, keys, member_key, one, tmp, 100 if quick else 2000))
        t = phase("in_process", t)
        url = f"{bases['member']}/v1/scores"

        def measure(url: str, token: str) -> dict[str, Any]:
            load_python(url, one, token, 3, CONCURRENCY)  # warm-up
            if use_wrk:
                return load_wrk(url, one, token, args.seconds, CONCURRENCY)
            return load_python(url, one, token, 15 if quick else 200, CONCURRENCY)

        with console.status("scoring: one company, 16 clients"):
            ours = measure(url, member_key)
        with console.status("naive server, same load"):
            naive = measure(f"{bases['naive']}/v1/scores", "unused")
        t = phase("load", t)
        with console.status("scoring: batch of 10,000"):
            times = []
            headers = {"Authorization": f"Bearer {member_key}", "Content-Type": "application/json"}
            for _ in range(1 if quick else 3):
                b = time.perf_counter()
                r = httpx.post(url, content=batch, timeout=120, headers=headers)
                times.append(time.perf_counter() - b)
                assert r.status_code == 200 and len(r.json()["results"]) == 10_000, r.text
        t = phase("batch", t)
        sample = pd.read_csv(data / "companies.csv", usecols=["company_id"])["company_id"]
        count = 1 + (100 if quick else 200)  # the first is apart: a warm-up
        ids = sample.sample(n=min(count, len(sample)), random_state=5).astype(str).tolist()
        with console.status("neighbourhood and related-party queries"):
            _, ours_ms = timed_gets(
                bases["risk"], risk_key, ids, "neighbourhood", {"hops": 2, "limit": 200}
            )
            related_first, related_ms = timed_gets(
                bases["risk"], risk_key, ids[:51], "related-parties"
            )
        servers["member"].stop()  # drains its audit log
        log = AuditLog(tmp / "audit.sqlite")
        check = log.verify()
        log.close()
        with console.status("peers: generic ego_frames, uncached related_parties"):
            peer = generic(store, ids[: 20 if quick else 50], ids[: 10 if quick else 3])
        phase("graph", t)
        result.update(
            {
                "p50_ms": ours["p50_ms"],
                "p99_ms": ours["p99_ms"],
                "requests_per_second": ours["requests_per_second"],
                "load_tool": ours["tool"],
                "naive_p50_ms": naive["p50_ms"],
                "naive_p99_ms": naive["p99_ms"],
                "naive_requests_per_second": naive["requests_per_second"],
                "throughput_ratio_vs_naive": ours["requests_per_second"]
                / naive["requests_per_second"],
                "batch_10k_seconds": float(np.median(times)),
                "batch_10k_runs": times,
                "audit_entries": check.rows,
                "audit_chain_verified": check.ok,
                "neighbourhood_p50_ms": float(np.percentile(ours_ms, 50)),
                "neighbourhood_p95_ms": float(np.percentile(ours_ms, 95)),
                "generic_ego_frames_p95_ms": float(np.percentile(peer["ego"], 95)),
                "neighbourhood_speedup_vs_generic_p95": float(
                    np.percentile(peer["ego"], 95) / np.percentile(ours_ms, 95)
                ),
                "related_parties_first_ms": related_first,
                "related_parties_p50_ms": float(np.percentile(related_ms, 50)),
                "related_parties_p95_ms": float(np.percentile(related_ms, 95)),
                "uncached_related_parties_median_ms": float(np.median(peer["related"])),
                "related_parties_speedup_vs_uncached": float(
                    np.median(peer["related"]) / np.percentile(related_ms, 50)
                ),
                "risk_server_startup_seconds": servers["risk"].ready_seconds,
                "neighbourhood_queries": len(ours_ms),
            }
        )
    result["targets"] = TARGETS
    result["met"] = {
        "p99_ms": result["p99_ms"] <= TARGETS["p99_ms"],
        "requests_per_second": result["requests_per_second"] >= TARGETS["requests_per_second"],
        "batch_10k_seconds": result["batch_10k_seconds"] <= TARGETS["batch_10k_seconds"],
        "neighbourhood_p95_ms": result["neighbourhood_p95_ms"] <= TARGETS["neighbourhood_p95_ms"],
    }
    result["phase_seconds"] = phases
    result["seconds"] = time.perf_counter() - started
    result["machine"] = describe_machine("fastapi", "uvicorn", "uvloop", "httptools", "orjson")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    console.print(f"wrote {args.out} in {result['seconds']:.0f} s", highlight=False)


def print_table(result: dict[str, Any]) -> None:
    table = Table(title=f"scoring_api ({result['companies']:,} companies, {result['load_tool']})")
    for column in ("measure", "ours", "peer", "ratio", "target", "met"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    met = result["met"]
    table.add_row(
        "scores p99 (1 company, 16 clients)",
        f"{result['p99_ms']:.1f} ms",
        f"naive {result['naive_p99_ms']:.1f} ms",
        f"{result['naive_p99_ms'] / result['p99_ms']:.2f}x",
        "<= 50 ms",
        str(met["p99_ms"]),
    )
    table.add_row(
        "scores throughput",
        f"{result['requests_per_second']:.0f} req/s",
        f"naive {result['naive_requests_per_second']:.0f} req/s",
        f"{result['throughput_ratio_vs_naive']:.2f}x",
        ">= 300 req/s",
        str(met["requests_per_second"]),
    )
    table.add_row(
        "server time per request (in process)",
        f"{result['server_us_per_request']:.0f} us",
        f"naive {result['naive_server_us_per_request']:.0f} us",
        f"{result['server_speedup_vs_naive']:.2f}x",
        "",
        "",
    )
    table.add_row(
        "batch of 10,000",
        f"{result['batch_10k_seconds']:.2f} s",
        "",
        "",
        "<= 2 s",
        str(met["batch_10k_seconds"]),
    )
    table.add_row(
        "neighbourhood p95 (2 hops, 200)",
        f"{result['neighbourhood_p95_ms']:.1f} ms",
        f"ego_frames {result['generic_ego_frames_p95_ms']:.1f} ms",
        f"{result['neighbourhood_speedup_vs_generic_p95']:.1f}x",
        "<= 100 ms",
        str(met["neighbourhood_p95_ms"]),
    )
    table.add_row(
        "related parties p50 (after the first)",
        f"{result['related_parties_p50_ms']:.1f} ms",
        f"uncached {result['uncached_related_parties_median_ms']:.0f} ms",
        f"{result['related_parties_speedup_vs_uncached']:.0f}x",
        "",
        "",
    )
    console.print(table)
    load = result["load_average_at_start"]
    console.print(f"load average at start {load}, at end {result['machine']['load_average_1m']}")


if __name__ == "__main__":
    main()
