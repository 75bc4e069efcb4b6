"""Read-only views over the run store for the association API (no writes, no plaintext).

Built on :class:`coordinator.state.RunStore`'s public methods only. Checkpoint payloads are
never returned: a round is described by its metadata, participation and metrics.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

from coordinator.state import PARTICIPATION_STATUSES, RunStore

PHASES = ("train", "evaluate")


def run_summary(store: RunStore, run: dict[str, object]) -> dict[str, Any]:
    """A run's row plus ``rounds_completed`` (aggregated training rounds)."""
    run_id = str(run["run_id"])
    return {**run, "rounds_completed": store.resume_round(run_id) - 1}


def rounds(store: RunStore, run_id: str) -> list[dict[str, Any]]:
    """Per round (aggregated or not): timing, bytes, participation and metrics per phase.

    Complexity: O(rounds x members) plus reading the run's checkpoints (verified).
    """
    by_round: dict[int, dict[str, Any]] = {}

    def entry(rnd: int) -> dict[str, Any]:
        return by_round.setdefault(
            rnd,
            {
                "round": rnd,
                "aggregated": False,
                "seconds": None,
                "bytes_up": None,
                "members": [],
                "participation": [],
                "metrics": {p: {} for p in PHASES},
            },
        )

    for cp in store.checkpoints(run_id, "train"):
        row = entry(cp.round)
        row.update(
            aggregated=True, seconds=cp.seconds, bytes_up=cp.bytes_up, members=list(cp.members)
        )
    for phase in PHASES:
        for p in store.participation(run_id, phase):
            entry(cast(int, p["round"]))["participation"].append({**p, "phase": phase})
        for rnd, values in store.metrics(run_id, phase).items():
            entry(rnd)["metrics"][phase] = values
    for row in by_round.values():
        for p in row["participation"]:
            p.pop("round", None)
    return [by_round[r] for r in sorted(by_round)]


def members(store: RunStore, run_id: str | None = None) -> list[dict[str, Any]]:
    """Per member over one run (or all): rounds by status and the latest non-empty reason."""
    counts: dict[str, Counter[str]] = {}
    reasons: dict[str, dict[str, str]] = {}
    runs = [run_id] if run_id is not None else [str(r["run_id"]) for r in store.runs()]
    for rid in runs:
        for p in store.participation(rid, "train"):
            member = str(p["member"])
            counts.setdefault(member, Counter())[str(p["status"])] += 1
            if p["reason"]:
                reasons.setdefault(member, {})[str(p["status"])] = str(p["reason"])
    return [
        {
            "member": m,
            **{s: counts[m][s] for s in PARTICIPATION_STATUSES},
            "last_reasons": reasons.get(m, {}),
        }
        for m in sorted(counts)
    ]
