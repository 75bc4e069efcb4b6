"""Alliance members: who is whose customer, and what each member observes about them.

Assignment (non-IID by construction)
------------------------------------
Only companies without an observed default are scored. Member ``m`` gets a size weight
``w_m = R^(-rank_m / (K - 1))`` (``R`` = ``member_size_ratio``, ranks shuffled), 1-3 home
regions and 2-3 focus industries; its affinity for company ``i`` is
``A_im = (1 + 3 [region_i in home_m]) (1 + 1.5 [industry_i in focus_m])``. Primary customers
are dealt by quotas ``floor(n_scored * w_m / sum w)``: members in increasing quota order take
their quota by weighted sampling without replacement (Gumbel top-k on ``log A_im``), the
largest takes the rest. Then each member also takes ``floor(multi_member_fraction * n_scored *
w_m / sum w)`` secondary customers among the other members' primary customers, again by
Gumbel top-k on ``log A_im``; so every member's size is proportional to ``w_m`` and the
smallest has about ``1/R`` of the largest's rows, while a company may belong to several.

Observations (member ``m``, customer ``i``; ``N`` a fresh standard normal per cell)
-------------------------------------------------------------------------------------
Each member sees the company's latent drivers through its own noise: behaviour
``b = z_beh + s_m N`` with ``s_m ~ U(0.25, 0.5)``; finance ``f = z_fin + 0.1 N``; growth
``g = z_gro + 0.5 N``. The indicators (``INDICATORS``) are monotone transforms of those plus
noise, e.g. ``overdue_ratio = sigmoid(-2.3 + b)`` and ``current_ratio = exp(0.3 - 0.3 f +
0.15 N)``. Financial ratios are missing at a member-specific rate around ``missing_rate``.

Complexity: O(n K) for the assignment, O(rows) for the indicators.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulations.consortium.companies import CompanyData
from simulations.consortium.config import INDUSTRIES, REGIONS

PAYMENT = (
    "days_past_due_avg",
    "longest_overdue_days",
    "overdue_ratio",
    "overdue_count_12m",
    "receivable_turnover_days",
)
COOPERATION = (
    "relationship_months",
    "order_volume_12m",
    "order_trend",
    "orders_per_month",
    "credit_utilization",
)
FINANCIAL = (
    "leverage",
    "current_ratio",
    "quick_ratio",
    "roa",
    "interest_coverage",
    "revenue_growth",
)
OUTLOOK = ("industry_outlook", "years_in_business")
INDICATORS: tuple[str, ...] = PAYMENT + COOPERATION + FINANCIAL + OUTLOOK
MAYBE_MISSING: tuple[str, ...] = (
    "current_ratio",
    "roa",
    "interest_coverage",
    "revenue_growth",
)
MEMBER_COLUMNS: tuple[str, ...] = ("company_id", "industry", "region", *INDICATORS, "default_6m")


def assign_members(
    scored: np.ndarray,
    region: np.ndarray,
    industry: np.ndarray,
    n_members: int,
    size_ratio: float,
    multi_fraction: float,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Sorted company indices of each member's customers (see module docstring).

    >>> r = np.random.default_rng(0)
    >>> parts = assign_members(np.arange(1000), np.zeros(1000, int), np.zeros(1000, int),
    ...                        3, 20.0, 0.1, r)
    >>> len(parts), min(map(len, parts)) * 10 <= max(map(len, parts))
    (3, True)
    """
    k = n_members
    s = len(scored)
    weights = size_ratio ** (-rng.permutation(k) / (k - 1))
    home = np.zeros((k, len(REGIONS)), dtype=bool)
    focus = np.zeros((k, len(INDUSTRIES)), dtype=bool)
    for m in range(k):
        home[m, rng.choice(len(REGIONS), size=rng.integers(1, 4), replace=False)] = True
        focus[m, rng.choice(len(INDUSTRIES), size=rng.integers(2, 4), replace=False)] = True
    reg, ind = region[scored], industry[scored]
    affinity = (1.0 + 3.0 * home[:, reg].T) * (1.0 + 1.5 * focus[:, ind].T)  # (s, k)

    quota = np.floor(s * weights / weights.sum()).astype(np.int64)
    keys = np.log(affinity) + rng.gumbel(size=(s, k))
    primary = np.full(s, -1, dtype=np.int64)
    order = np.argsort(quota, kind="stable")
    for m in order[:-1]:
        free = np.flatnonzero(primary < 0)
        q = int(quota[m])
        if q == 0:
            continue
        top = free[np.argpartition(-keys[free, m], q - 1)[:q]] if q < len(free) else free
        primary[top] = m
    primary[primary < 0] = order[-1]

    # secondary customers: member m adds floor(multi * s * w_m / sum w) companies whose primary
    # lender is another member, again by Gumbel top-k on its affinity
    extra_quota = np.floor(multi_fraction * s * weights / weights.sum()).astype(np.int64)
    keys2 = np.log(affinity) + rng.gumbel(size=(s, k))
    member_parts = [primary]
    company_parts = [scored]
    for m in range(k):
        others = np.flatnonzero(primary != m)
        e = min(int(extra_quota[m]), len(others))
        if e == 0:
            continue
        pick = others[np.argpartition(-keys2[others, m], e - 1)[:e]]
        member_parts.append(np.full(e, m, dtype=np.int64))
        company_parts.append(scored[pick])
    member = np.concatenate(member_parts)
    company = np.concatenate(company_parts)
    return [np.sort(company[member == m]) for m in range(k)]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def member_table(
    idx: np.ndarray,
    company_ids: np.ndarray,
    data: CompanyData,
    label: np.ndarray,
    missing_rate: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One member's customer table for company indices ``idx`` (columns ``MEMBER_COLUMNS``)."""
    r = len(idx)

    def noise() -> np.ndarray:
        return rng.standard_normal(r)

    s_m = rng.uniform(0.25, 0.5)
    dpd_scale = rng.uniform(0.8, 1.25)
    volume_scale = np.exp(rng.normal(-2.5, 0.5))
    outlook_bias = rng.normal(0.0, 0.3, size=len(INDUSTRIES))
    miss = missing_rate * rng.uniform(0.5, 1.5)

    b = data.z_beh[idx] + s_m * noise()
    f = data.z_fin[idx] + 0.1 * noise()
    g = data.z_gro[idx] + 0.5 * noise()
    size = data.size_z[idx]
    age = data.age[idx]

    dpd = dpd_scale * np.maximum(0.0, np.exp(0.9 + 0.8 * b) - 1.5)
    longest = np.rint(dpd * rng.uniform(1.5, 4.0, size=r) + rng.poisson(2.0 * np.exp(0.5 * b)))
    overdue_ratio = _sigmoid(-2.3 + b)
    orders_pm = np.exp(1.0 + 0.4 * size + 0.3 * noise())
    overdue_count = rng.poisson(overdue_ratio * orders_pm * 12.0)
    months = np.exp(rng.uniform(np.log(2.0), np.log(200.0), size=r) - 0.15 * b)
    months = np.clip(np.rint(months), 1, np.maximum(1, np.floor(age * 12)))
    cols: dict[str, np.ndarray] = {
        "days_past_due_avg": np.round(dpd, 1),
        "longest_overdue_days": longest.astype(np.int64),
        "overdue_ratio": np.round(overdue_ratio, 3),
        "overdue_count_12m": overdue_count.astype(np.int64),
        "receivable_turnover_days": np.round(np.exp(3.7 + 0.2 * b + 0.15 * f + 0.2 * noise()), 1),
        "relationship_months": months.astype(np.int64),
        "order_volume_12m": np.round(
            data.total_assets[idx] * volume_scale * np.exp(0.6 * noise()), -2
        ),
        "order_trend": np.round(0.04 - 0.03 * b + 0.10 * g + 0.08 * noise(), 3),
        "orders_per_month": np.round(orders_pm, 1),
        "credit_utilization": np.round(_sigmoid(-0.4 + 0.5 * b + 0.4 * f + 0.3 * noise()), 3),
        "leverage": np.round(np.clip(data.leverage[idx] + 0.02 * noise(), 0.01, 0.99), 3),
        "current_ratio": np.round(np.exp(0.3 - 0.3 * f + 0.15 * noise()), 3),
        "quick_ratio": np.zeros(r),
        "roa": np.round(0.045 - 0.035 * f + 0.015 * noise(), 4),
        "interest_coverage": np.round(np.exp(1.3 - 0.5 * f + 0.3 * noise()), 2),
        "revenue_growth": np.round(0.06 + 0.10 * g + 0.06 * noise(), 3),
        "industry_outlook": np.round(
            data.outlook[data.industry[idx]] + outlook_bias[data.industry[idx]] + 0.1 * noise(), 3
        ),
        "years_in_business": np.floor(age).astype(np.int64),
    }
    cols["quick_ratio"] = np.round(cols["current_ratio"] * rng.uniform(0.45, 0.9, size=r), 3)
    for name in MAYBE_MISSING:
        cols[name] = np.where(rng.random(r) < miss, np.nan, cols[name])
    # quick ratio comes from the same balance sheet: missing exactly when the current ratio is
    cols["quick_ratio"] = np.where(np.isnan(cols["current_ratio"]), np.nan, cols["quick_ratio"])

    frame = pd.DataFrame(
        {
            "company_id": company_ids[idx],
            "industry": np.asarray(INDUSTRIES, dtype=object)[data.industry[idx]],
            "region": np.asarray(REGIONS, dtype=object)[data.region[idx]],
            **cols,
            "default_6m": label[idx].astype(np.int64),
        }
    )
    return frame[list(MEMBER_COLUMNS)]
