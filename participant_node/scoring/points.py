"""PD <-> scorecard points and points -> tier, vectorised.

The industry convention (Siddiqi, *Credit Risk Scorecards*, Wiley 2006, ch. 6): with odds
``o = (1 - PD) / PD`` (good:bad), ``points = offset + factor * ln(o)`` where
``factor = PDO / ln 2`` (every PDO points double the odds) and
``offset = base_score - factor * ln(base_odds)`` (``base_score`` at ``base_odds``).

Example
-------
>>> from participant_node.scoring.policy import ScoringPolicy
>>> p = ScoringPolicy(pdo=20, base_score=600, base_odds=50)
>>> float(pd_to_points(1 / 51, p).round(6)), float(pd_to_points(1 / 101, p).round(6))
(600.0, 620.0)
>>> assign_tier(np.array([640.0, 580.0, 550.0, 500.0]), p).tolist()
['A', 'B', 'C', 'D']

Complexity: O(n), no Python loop.
"""

from __future__ import annotations

import numpy as np

from participant_node.scoring.policy import TIERS, ScoringPolicy

#: PDs are clipped to ``[PD_FLOOR, 1 - PD_FLOOR]`` so that 0 and 1 map to finite points.
PD_FLOOR = 1e-9


def pd_to_points(pd: np.ndarray | float, policy: ScoringPolicy) -> np.ndarray:
    """Scorecard points of probabilities of default (higher = safer)."""
    p = np.clip(np.asarray(pd, dtype=np.float64), PD_FLOOR, 1.0 - PD_FLOOR)
    return policy.offset + policy.factor * (np.log1p(-p) - np.log(p))


def points_to_pd(points: np.ndarray | float, policy: ScoringPolicy) -> np.ndarray:
    """Inverse of :func:`pd_to_points`: ``PD = 1 / (1 + exp((points - offset) / factor))``."""
    z = (np.asarray(points, dtype=np.float64) - policy.offset) / policy.factor
    return 1.0 / (1.0 + np.exp(z))


def assign_tier(points: np.ndarray | float, policy: ScoringPolicy) -> np.ndarray:
    """Tier letter of each score: A at or above the A cut-off, ..., D below the C cut-off."""
    pts = np.atleast_1d(np.asarray(points, dtype=np.float64))
    # cut-offs decrease, so count how many each score fails to reach
    cut = np.asarray(policy.cutoffs)
    idx = (pts[:, None] < cut[None, :]).sum(axis=1)
    return np.asarray(TIERS, dtype=object)[idx]


def tier_rank(tier: str) -> int:
    """0 for A (best) .. 3 for D; raises on anything else."""
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {TIERS}; got {tier!r}")
    return TIERS.index(tier)
