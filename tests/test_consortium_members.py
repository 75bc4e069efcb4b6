"""Member tables: columns, sizes, non-IID skew, measurement noise, missing values, labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from simulations.consortium import (
    INDICATORS,
    MEMBER_COLUMNS,
    Consortium,
    ConsortiumConfig,
    generate_consortium,
)
from simulations.consortium.members import MAYBE_MISSING, assign_members


@pytest.fixture(scope="module")
def cons() -> Consortium:
    return generate_consortium(ConsortiumConfig(n_companies=5_000, n_members=5, seed=3))


@pytest.fixture(scope="module")
def rows(cons: Consortium) -> pd.DataFrame:
    return pd.concat([m.assign(member=k) for k, m in cons.members.items()], ignore_index=True)


def test_member_ids_and_columns(cons: Consortium) -> None:
    assert list(cons.members) == ["m01", "m02", "m03", "m04", "m05"]
    assert len(INDICATORS) >= 15
    for frame in cons.members.values():
        assert tuple(frame.columns) == MEMBER_COLUMNS
        assert frame["company_id"].is_unique
        assert frame["company_id"].is_monotonic_increasing
        assert set(frame["default_6m"].unique()) <= {0, 1}


def test_smallest_member_has_at_most_a_tenth_of_the_largest(cons: Consortium) -> None:
    sizes = [len(m) for m in cons.members.values()]
    assert min(sizes) * 10 <= max(sizes)
    assert min(sizes) > 0


@settings(max_examples=25, deadline=None)
@given(
    k=st.integers(2, 12),
    n=st.integers(300, 3_000),
    seed=st.integers(0, 2**32 - 1),
)
def test_assignment_sizes_follow_the_size_ratio(k: int, n: int, seed: int) -> None:
    # Prepare
    rng = np.random.default_rng(seed)
    region = rng.integers(0, 10, size=n)
    industry = rng.integers(0, 12, size=n)
    # Execute
    parts = assign_members(np.arange(n), region, industry, k, 20.0, 0.15, rng)
    sizes = [len(p) for p in parts]
    # Assert: every scored company is someone's customer, and sizes keep the ratio
    assert set(np.concatenate(parts).tolist()) == set(range(n))
    assert all(len(np.unique(p)) == len(p) for p in parts)
    assert min(sizes) * 10 <= max(sizes)


def test_most_companies_have_one_lender_and_some_several(rows: pd.DataFrame) -> None:
    per_company = rows.groupby("company_id")["member"].nunique()
    assert per_company.min() >= 1
    share_multi = (per_company > 1).mean()
    assert 0.05 < share_multi < 0.3


def test_label_is_the_same_at_every_member(rows: pd.DataFrame) -> None:
    assert (rows.groupby("company_id")["default_6m"].nunique() == 1).all()
    assert 0.05 <= rows.drop_duplicates("company_id")["default_6m"].mean() <= 0.10


def test_defaulted_companies_are_not_scored(cons: Consortium, rows: pd.DataFrame) -> None:
    assert not set(cons.graph.defaults["company_id"]) & set(rows["company_id"])
    scored = set(cons.graph.companies["company_id"]) - set(cons.graph.defaults["company_id"])
    assert set(rows["company_id"]) == scored


def test_members_are_non_iid_in_region_and_industry(rows: pd.DataFrame) -> None:
    # total-variation distance between member region mixes must be clearly non-zero
    mix = pd.crosstab(rows["member"], rows["region"], normalize="index")
    tv = 0.5 * np.abs(mix.values[:, None, :] - mix.values[None, :, :]).sum(axis=2)
    assert tv.max() > 0.2
    ind = pd.crosstab(rows["member"], rows["industry"], normalize="index")
    tv_ind = 0.5 * np.abs(ind.values[:, None, :] - ind.values[None, :, :]).sum(axis=2)
    assert tv_ind.max() > 0.15


def test_each_member_sees_its_own_version_of_behaviour(rows: pd.DataFrame) -> None:
    # Prepare: companies seen by two members
    multi = rows[rows.duplicated("company_id", keep=False)].sort_values(["company_id", "member"])
    first = multi.groupby("company_id").nth(0).set_index("company_id")
    second = multi.groupby("company_id").nth(1).set_index("company_id")
    # Execute
    same_overdue = (first["overdue_ratio"] == second["overdue_ratio"]).mean()
    corr = np.corrcoef(first["overdue_ratio"], second["overdue_ratio"])[0, 1]
    # Assert: noisy but about the same company; static facts agree
    assert same_overdue < 0.2
    assert 0.5 < corr < 0.99
    assert (first["industry"] == second["industry"]).all()
    assert (first["years_in_business"] == second["years_in_business"]).all()


def test_missing_values_only_in_financial_ratios_at_a_small_rate(rows: pd.DataFrame) -> None:
    missing = rows.isna().mean()
    assert set(missing[missing > 0].index) <= set(MAYBE_MISSING) | {"quick_ratio"}
    for col in MAYBE_MISSING:
        assert 0.003 < missing[col] < 0.05
    assert rows.loc[rows["current_ratio"].isna(), "quick_ratio"].isna().all()


def test_indicators_have_plausible_ranges(rows: pd.DataFrame) -> None:
    assert (rows["days_past_due_avg"] >= 0).all()
    assert (rows["longest_overdue_days"] >= rows["days_past_due_avg"].round() - 1).all()
    assert rows["overdue_ratio"].between(0, 1).all()
    assert rows["leverage"].between(0, 1).all()
    assert rows["credit_utilization"].between(0, 1).all()
    assert (rows["relationship_months"] >= 1).all()
    assert (rows["relationship_months"] <= rows["years_in_business"].clip(lower=1) * 12 + 12).all()
    assert (rows["quick_ratio"].dropna() <= rows["current_ratio"].dropna()).all()


def test_own_features_predict_the_label(rows: pd.DataFrame) -> None:
    # a single behavioural indicator already ranks defaulters above non-defaulters
    one = rows.drop_duplicates("company_id")
    auc = roc_auc_score(one["default_6m"], one["overdue_ratio"])
    assert 0.6 < auc < 0.85
