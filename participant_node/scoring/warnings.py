"""Early warnings, each with a machine code and a human reason.

========================  ==================================================================
code                      raised when
========================  ==================================================================
TIER_DOWNGRADE            the tier is worse than at the previous score of the company
PD_JUMP                   ``pd_final - previous pd_final >= policy.pd_jump``
GUARANTEED_DEFAULTED      a company it guarantees (directly, or down a chain) has defaulted
RELATED_PARTY_DEFAULTED   ``related_party_default_count > 0`` in the graph-feature table
ENTERED_GUARANTEE_CIRCLE  it is in a guarantee circle now and was not at the previous score
                          (or was never scored before)
RECEIVABLES_AGED          its oldest receivable is >= a policy stage's days past due; carries
                          the highest stage reached (default 30 negotiate, 60 collection
                          agency, 90 legal)
========================  ==================================================================

"Previous" comes from a :class:`WarningState` (``state_dict``/``load_state_dict``, JSON) or
from the previous scores CSV (:meth:`WarningState.from_scores`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from participant_node.scoring.points import tier_rank
from participant_node.scoring.policy import ScoringPolicy


@dataclass(frozen=True)
class Snapshot:
    """What is remembered of a company's last score."""

    tier: str
    pd_final: float
    in_guarantee_circle: bool


class WarningState:
    """Last snapshot per company; update it after each scoring run."""

    def __init__(self) -> None:
        self._last: dict[str, Snapshot] = {}

    def __len__(self) -> int:
        return len(self._last)

    def get(self, company_id: str) -> Snapshot | None:
        """The previous snapshot, or ``None`` for a company never scored."""
        return self._last.get(company_id)

    def update(self, company_id: str, snapshot: Snapshot) -> None:
        """Remember ``snapshot`` as the company's latest."""
        tier_rank(snapshot.tier)
        self._last[company_id] = snapshot

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {"version": 1, "companies": {k: asdict(v) for k, v in self._last.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from :meth:`state_dict` (replaces the current state)."""
        if state.get("version") != 1:
            raise ValueError(f"warning state version must be 1; got {state.get('version')!r}")
        self._last = {
            str(k): Snapshot(str(v["tier"]), float(v["pd_final"]), bool(v["in_guarantee_circle"]))
            for k, v in state["companies"].items()
        }

    @classmethod
    def from_scores(cls, path: str | Path) -> WarningState:
        """Previous ``scores.csv`` (columns ``company_id, tier, pd_final`` and optionally
        ``in_guarantee_circle``)."""
        p = Path(path)
        df = pd.read_csv(p, dtype={"company_id": str})
        missing = [c for c in ("company_id", "tier", "pd_final") if c not in df.columns]
        if missing:
            raise ValueError(f"{p}: previous scores lack columns {missing}")
        state = cls()
        circle = (
            df["in_guarantee_circle"].fillna(False).astype(bool)
            if "in_guarantee_circle" in df.columns
            else pd.Series(False, index=df.index)
        )
        for i, (cid, tier, pd_final, c) in enumerate(
            zip(df["company_id"], df["tier"], df["pd_final"], circle, strict=True)
        ):
            try:
                state.update(str(cid), Snapshot(str(tier), float(pd_final), bool(c)))
            except ValueError as exc:
                raise ValueError(f"{p}: row {i + 1}, column tier: {exc}") from None
        return state


def receivables_stage(days: float | None, policy: ScoringPolicy) -> tuple[int, str] | None:
    """The highest stage ``(days, action)`` reached, or ``None``."""
    if days is None or (isinstance(days, float) and math.isnan(days)):
        return None
    reached = [s for s in policy.receivables_stages if days >= s.days]
    return (reached[-1].days, reached[-1].action) if reached else None


def early_warnings(
    *,
    tier: str,
    pd_final: float,
    previous: Snapshot | None,
    policy: ScoringPolicy,
    in_guarantee_circle: bool = False,
    related_party_defaults: float = 0.0,
    default_chains: Sequence[str] = (),
    receivable_days: float | None = None,
) -> list[dict[str, Any]]:
    """The warnings of one scored company (see the module docstring for the codes)."""
    out: list[dict[str, Any]] = []
    if previous is not None:
        if tier_rank(tier) > tier_rank(previous.tier):
            out.append({"code": "TIER_DOWNGRADE",
                        "reason": f"tier fell from {previous.tier} to {tier}"})  # fmt: skip
        jump = pd_final - previous.pd_final
        if jump >= policy.pd_jump:
            out.append(
                {
                    "code": "PD_JUMP",
                    "reason": f"PD rose from {previous.pd_final:.2%} to {pd_final:.2%} "
                    f"(+{jump:.2%} >= {policy.pd_jump:.2%})",
                }
            )
    for chain in default_chains:
        out.append({"code": "GUARANTEED_DEFAULTED", "reason": chain})
    if related_party_defaults and related_party_defaults > 0:
        n = int(related_party_defaults)
        out.append(
            {
                "code": "RELATED_PARTY_DEFAULTED",
                "reason": f"{n} related part{'y' if n == 1 else 'ies'} (common controller or "
                "shared identifiers) defaulted",
            }
        )
    if in_guarantee_circle and (previous is None or not previous.in_guarantee_circle):
        out.append(
            {
                "code": "ENTERED_GUARANTEE_CIRCLE",
                "reason": "now part of a guarantee circle"
                + ("" if previous is None else " (was not at the previous score)"),
            }
        )
    stage = receivables_stage(receivable_days, policy)
    if stage is not None:
        assert receivable_days is not None
        out.append(
            {
                "code": "RECEIVABLES_AGED",
                "reason": f"oldest receivable {receivable_days:g} days past due "
                f"(>= {stage[0]}): {stage[1]}",
                "stage": stage[1],
            }
        )
    return out
