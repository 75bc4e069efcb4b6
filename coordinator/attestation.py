"""Per-round attestation: what the coordinator can vouch for about how a round was protected.

For every aggregated training round the coordinator records, from what it actually received:
the encryption scheme, key size and fingerprint, slot layout, ciphertexts and bytes per member,
and the DP-SGD parameters and epsilon each member *reported* (clip norm, noise multiplier,
sample rate, local steps, epsilon, delta), plus who took part, refused or failed. A member
verifies a run by checking these records against the consortium's public key fingerprint and
its own budget (``fedcredit node verify``). Reported DP numbers are the members' own claims;
the coordinator cannot check noise inside ciphertexts (named weakness, see ``privacy``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from privacy import Payload

DP_FIELDS: tuple[str, ...] = (
    "dp", "epsilon", "delta", "noise-multiplier", "clip-norm", "sample-rate", "local-steps",
)  # fmt: skip


@dataclass
class Round:
    """What arrived in one phase of one round."""

    payloads: list[Payload] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)


def _meta(payload: Payload, key: str) -> Any:
    value = payload.meta.get(key)
    return value if value not in ("", None) else None


def attest(server_round: int, phase: str, aggregate: Payload, rnd: Round) -> dict[str, Any]:
    """The attestation record of one aggregated round (JSON-serialisable)."""
    per_member: dict[str, dict[str, Any]] = {}
    for name, payload in zip(rnd.members, rnd.payloads, strict=True):
        report = rnd.reports.get(name, {})
        entry: dict[str, Any] = {
            "ciphertexts": _meta(payload, "ciphertexts"),
            "bytes": payload.nbytes(),
            "key_fingerprint": _meta(payload, "fingerprint"),
        }
        for f in DP_FIELDS:
            if f in report:
                value = report[f]
                entry[f.replace("-", "_")] = bool(value) if f == "dp" else value
        per_member[name] = entry
    return {
        "round": server_round,
        "phase": phase,
        "scheme": aggregate.scheme,
        "key_bits": _meta(aggregate, "key_bits"),
        "key_fingerprint": _meta(aggregate, "fingerprint"),
        "slot_bits": _meta(aggregate, "slot_bits"),
        "value_bits": _meta(aggregate, "value_bits"),
        "members": list(rnd.members),
        "refused": list(rnd.refused),
        "failed": list(rnd.failed),
        "per_member": per_member,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
