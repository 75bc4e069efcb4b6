"""A member verifies a run from the coordinator's attestation records.

Checks, per attested round: the scheme is ``paillier-packed`` (not the plaintext opt-out), the
key fingerprint of the aggregate *and of every member's payload* equals the fingerprint of the
consortium public key the member holds, every member reported DP on with a positive noise
multiplier, and no reported epsilon exceeds ``max_epsilon``. Rounds are consecutive. What
cannot be verified from records alone (named in ``privacy``): that members really added the
noise they report.

Example
-------
>>> rec = {"round": 1, "scheme": "paillier-packed", "key_fingerprint": "sha256:ab",
...        "per_member": {"m1": {"key_fingerprint": "sha256:ab", "dp": True,
...                              "noise_multiplier": 1.1, "epsilon": 0.4}}}
>>> verify_records([rec], fingerprint="sha256:ab", max_epsilon=3.0)
[]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def read_records(path: Path) -> list[dict[str, Any]]:
    """Read ``attestations.jsonl``; a malformed line is an error naming the line."""
    records = []
    for i, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {i} is not a JSON attestation record ({exc})") from exc
    return records


def verify_records(
    records: Sequence[dict[str, Any]], *, fingerprint: str, max_epsilon: float
) -> list[str]:
    """Every problem found (empty when the run checks out)."""
    problems: list[str] = []
    if not records:
        return ["no attested rounds: nothing proves this run was private"]
    rounds = [int(r.get("round", -1)) for r in records]
    if rounds != list(range(rounds[0], rounds[0] + len(rounds))):
        problems.append(f"attested rounds are not consecutive: {rounds}")
    for r in records:
        where = f"round {r.get('round')}"
        if r.get("scheme") != "paillier-packed":
            problems.append(f"{where}: scheme {r.get('scheme')!r}, not paillier-packed")
        if r.get("key_fingerprint") != fingerprint:
            problems.append(
                f"{where}: aggregate under key {r.get('key_fingerprint')}, "
                f"not the consortium key {fingerprint}"
            )
        for member, entry in r.get("per_member", {}).items():
            if entry.get("key_fingerprint") != fingerprint:
                problems.append(f"{where}: {member} encrypted under another key")
            if not entry.get("dp") or not float(entry.get("noise_multiplier") or 0) > 0:
                problems.append(f"{where}: {member} did not report DP-SGD with noise")
            eps = entry.get("epsilon")
            if eps is None or float(eps) > max_epsilon:
                problems.append(f"{where}: {member} reported epsilon {eps}, above {max_epsilon}")
    return problems
