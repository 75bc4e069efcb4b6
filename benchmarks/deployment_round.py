"""Deployment overhead: the same private rounds on real processes vs Flower's simulation engine.

Deployed: ``fedcredit coordinator start`` (flower-superlink, TLS, SuperNode authentication) and
one ``fedcredit node start`` per member (flower-supernode), all on 127.0.0.1, each member
validating and encoding its own CSV. Simulated: the project's ServerApp/ClientApp on Flower's
simulation engine over *the same prepared member rows* and the same run config. Both are
private by default (DP-SGD epsilon 3, packed Paillier). Seconds per round are wall time of the
whole run divided by rounds (train + federated evaluation); bytes up per member per round are
the members' training payloads as stored by the coordinator.

Full: 20,000-company synthetic consortium, 10 members, 3072-bit key, 3 rounds.
``--quick``: 3 toy members, 2048-bit key, 1 round (what the test runs). ``--members``,
``--companies`` and ``--rounds`` shrink the full run on a small or loaded machine; the JSON
then says so (``full_config`` false and ``scope``). The load average is recorded before and
after, since timings on a shared machine are taken under contention.

Prints a table; writes ``benchmarks/results/deployment_round.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from support.machine import describe_machine

from coordinator.deploy.link import submit_run, wait_run
from coordinator.state import RunStore
from participant_node.partition import write_manifest
from simulations.consortium import ConsortiumConfig, generate_consortium, write_consortium
from simulations.engine import run_simulation
from simulations.loopback import Loopback, setup_loopback, toy_credit_frame

RESULTS = Path(__file__).parent / "results" / "deployment_round.json"


FULL = {"members": 10, "companies": 20_000, "rounds": 3}


def _frames(
    quick: bool, work: Path, members: int, companies: int
) -> tuple[dict[str, pd.DataFrame], str, str, str | None]:
    if quick:
        return {f"m{i}": toy_credit_frame(i, 300) for i in range(1, 4)}, "default", "yes", None
    write_consortium(
        generate_consortium(ConsortiumConfig(n_companies=companies, n_members=members, seed=7)),
        work / "c",
    )
    frames = {f.stem: pd.read_csv(f) for f in sorted((work / "c" / "members").glob("*.csv"))}
    return frames, "default_6m", "1", "company_id"


def _run_config(lb: Loopback, run_id: str, rounds: int, store: str) -> dict[str, Any]:
    return {
        "num-server-rounds": rounds, "min-members": len(lb.members), "round-timeout": 900.0,
        "model": "logistic", "batch-size": 256, "learning-rate": 0.1, "epsilon": 3.0,
        "run-id": run_id, "run-store": store, "public-key": str(lb.home.public_key),
        "members-file": str(lb.home.members_file), "transport": "tls",
    }  # fmt: skip


def _per_round(store_path: str, run_id: str) -> dict[str, float]:
    with RunStore(store_path) as store:
        trains = store.checkpoints(run_id, "train")
    member_rounds = sum(len(c.members) for c in trains)
    return {
        "rounds": float(len(trains)),
        "bytes_up_per_member_per_round": sum(c.bytes_up for c in trains) / max(member_rounds, 1),
    }


def deployed(lb: Loopback, rounds: int) -> dict[str, float]:
    """Start the processes, run ``rounds`` rounds, stop; seconds per round and bytes."""
    lb.start_coordinator(wait=600)  # registering the allow-list is slow on a loaded machine
    for m in lb.members:
        lb.start_member(m)
    lb.wait_online(*lb.members, timeout=600)
    store = lb.home.run_store()
    t0 = time.perf_counter()
    run = wait_run(lb.home, "bench", submit_run(lb.home, _run_config(lb, "bench", rounds, store)))
    wall = time.perf_counter() - t0
    if run["status"] != "completed":
        raise RuntimeError(f"deployed run ended {run['status']}: {run['reason']}")
    out = _per_round(store, "bench")
    return {**out, "seconds_per_round": wall / rounds}


def simulated(lb: Loopback, rounds: int, work: Path) -> dict[str, float]:
    """The same prepared rows and run config on Flower's simulation engine."""
    parts = work / "sim-parts"
    parts.mkdir()
    for m in lb.members:
        shutil.copyfile(lb.member_dir(m) / "node" / "prepared.npz", parts / f"{m}.npz")
    write_manifest(parts, list(lb.members))
    (parts / "secrets").mkdir()
    key = parts / "secrets" / "private_key.json"
    shutil.copyfile(lb.root / "ceremony" / "private_key.json", key)
    key.chmod(0o600)  # the key loader refuses a group/world-readable private key
    store = str(work / "sim-store.sqlite")
    rc = {**_run_config(lb, "sim", rounds, store), "data-dir": str(parts), "members-file": ""}
    t0 = time.perf_counter()
    run_simulation(rc, len(lb.members), work / "sim-app")
    wall = time.perf_counter() - t0
    with RunStore(store) as rs:
        run = rs.run("sim")
    if run["status"] != "completed":
        raise RuntimeError(f"simulated run ended {run['status']}: {run['reason']}")
    return {**_per_round(store, "sim"), "seconds_per_round": wall / rounds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--members", type=int, default=FULL["members"])
    ap.add_argument("--companies", type=int, default=FULL["companies"])
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    bits = 2048 if args.quick else 3072
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="fedcredit-bench-") as tmp:
        work = Path(tmp)
        frames, label, positive, id_col = _frames(args.quick, work, args.members, args.companies)
        lb = setup_loopback(
            work / "deploy", frames, label=label, positive=positive, key_bits=bits,
            id_column=id_col,
        )  # fmt: skip
        try:
            dep = deployed(lb, rounds)
        finally:
            lb.close()
        sim = simulated(lb, rounds, work)
    scope = {"members": len(frames), "companies": args.companies, "rounds": rounds}
    full = not args.quick and scope == FULL
    result = {
        "benchmark": "deployment_round",
        "quick": args.quick,
        "full_config": full,
        "scope": "quick toy run"
        if args.quick
        else ("full: " if full else "REDUCED from the full ") + f"{FULL} -> {scope}; full command: "
        "python benchmarks/deployment_round.py",
        "members": len(frames),
        "rows": int(sum(len(f) for f in frames.values())),
        "key_bits": bits,
        "rounds": rounds,
        "seconds_per_round_deployed": dep["seconds_per_round"],
        "seconds_per_round_simulated": sim["seconds_per_round"],
        "deployment_overhead_ratio": dep["seconds_per_round"] / sim["seconds_per_round"],
        "bytes_up_per_member_per_round": dep["bytes_up_per_member_per_round"],
        "bytes_up_per_member_per_round_simulated": sim["bytes_up_per_member_per_round"],
        "resume_cost_rounds": 1,
        "resume_note": "not timed here: a coordinator killed mid-round re-runs only that round "
        "(tests/test_deploy_faults.py asserts it from per-run train-message counts)",
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "load_note": "1/5/15-min load averages before and after; the machine is shared with "
        "other workers, so both runtimes were timed under contention that varies between the "
        "deployed and the simulated phase",
        "machine": describe_machine("flwr", "torch", "phe"),
    }
    print(f"{'':28}{'deployed':>12}{'simulated':>12}")
    print(
        f"{'seconds per round':28}{dep['seconds_per_round']:12.1f}{sim['seconds_per_round']:12.1f}"
    )
    print(f"{'bytes up / member / round':28}{dep['bytes_up_per_member_per_round']:12.0f}"
          f"{sim['bytes_up_per_member_per_round']:12.0f}")  # fmt: skip
    print(f"deployment overhead: {result['deployment_overhead_ratio']:.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
