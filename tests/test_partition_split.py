"""Member partitioning and stratified holdouts."""

import numpy as np
import pandas as pd
import pytest

from simulations.experiments.partition import (
    assign_members,
    parse_partition,
    stratified_holdout,
)


def test_column_keeps_k_minus_one_largest_and_merges_rest() -> None:
    df = pd.DataFrame({"state": ["CA"] * 5 + ["TX"] * 4 + ["NY"] * 3 + ["FL", "IL"]})
    owner = assign_members(df, parse_partition("column:state"), 3, np.zeros(len(df)), seed=0)
    assert sorted(set(owner)) == ["CA", "TX", "rest"]
    assert (owner == "rest").sum() == 5  # NY x3 + FL + IL


def test_column_needs_enough_groups() -> None:
    df = pd.DataFrame({"state": ["CA", "TX"]})
    with pytest.raises(ValueError, match="2 groups; need >= 3"):
        assign_members(df, parse_partition("column:state"), 3, np.zeros(2), seed=0)


def test_dirichlet_is_label_skewed_and_deterministic() -> None:
    y = np.array([0] * 900 + [1] * 100)
    df = pd.DataFrame({"x": np.arange(1000)})
    a = assign_members(df, parse_partition("dirichlet:0.3"), 4, y, seed=3)
    b = assign_members(df, parse_partition("dirichlet:0.3"), 4, y, seed=3)
    assert (a == b).all()
    rates = [y[a == m].mean() for m in sorted(set(a))]
    assert max(rates) - min(rates) > 0.05  # skew in default rates across members


def test_iid_sizes_are_balanced() -> None:
    df = pd.DataFrame({"x": np.arange(101)})
    owner = assign_members(df, parse_partition("iid"), 4, np.zeros(101), seed=1)
    _, counts = np.unique(owner.astype(str), return_counts=True)
    assert counts.max() - counts.min() <= 1


def test_bad_specs_are_named() -> None:
    with pytest.raises(ValueError, match="--partition must be"):
        parse_partition("random")
    with pytest.raises(ValueError, match="alpha must be > 0"):
        parse_partition("dirichlet:0")


def test_holdout_is_stratified() -> None:
    y = np.array([0] * 95 + [1] * 5)
    mask = stratified_holdout(y, 0.2, seed=0)
    assert mask.sum() == 20
    assert y[mask].sum() == 1  # 20% of 5 positives
