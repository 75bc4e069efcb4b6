"""ConsortiumConfig validation and the seeded random streams."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.consortium import ConsortiumConfig
from simulations.consortium.config import streams


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_members": 1}, "members must be >= 2; got 1"),
        ({"n_members": 100}, "members must be <= 99; got 100"),
        ({"n_companies": 99}, "companies must be >= 100; got 99"),
        ({"n_companies": 500.5}, "companies must be an integer"),
        ({"n_members": True}, "members must be an integer"),
        ({"seed": -3}, "seed must be >= 0; got -3"),
        ({"scoring_date": "2026-06-30"}, "scoring_date must be a datetime.date"),
        ({"default_rate": 0.0}, "default_rate must be in (0, 0.5); got 0.0"),
        ({"history_default_rate": 0.7}, "history_default_rate must be in (0, 0.5)"),
        ({"graph_effect": -0.1}, "graph_effect must be in [0, 5]"),
        ({"group_fraction": 0.95}, "group_fraction must be in (0, 0.9)"),
        ({"circle_rate": 0.2}, "circle_rate must be in (0, 0.05)"),
        ({"member_size_ratio": 0.5}, "member_size_ratio must be >= 1"),
        ({"multi_member_fraction": -0.1}, "multi_member_fraction must be in [0, 0.9)"),
        ({"missing_rate": 0.5}, "missing_rate must be in [0, 0.5)"),
        ({"n_companies": 100, "n_members": 8}, "smallest member"),
    ],
)
def test_invalid_config_names_the_rule(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ConsortiumConfig(**kwargs)  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None)
@given(n=st.integers(100, 10**7), k=st.integers(2, 99))
def test_accepted_configs_leave_every_member_some_customers(n: int, k: int) -> None:
    # Execute: either accepted, or refused by the smallest-member rule
    try:
        cfg = ConsortiumConfig(n_companies=n, n_members=k)
    except ValueError as exc:
        assert "smallest member" in str(exc)
        return
    # Assert
    weights = cfg.member_size_ratio ** (-np.arange(k) / (k - 1))
    assert 0.9 * n * weights[-1] / weights.sum() >= 3
    assert cfg.member_ids[0] == "m01" and len(cfg.member_ids) == k


def test_to_dict_is_json_ready() -> None:
    cfg = ConsortiumConfig(n_companies=1_000, n_members=3, seed=4, scoring_date=date(2025, 1, 31))
    out = cfg.to_dict()
    assert out["scoring_date"] == "2025-01-31"
    assert out["n_companies"] == 1_000 and out["seed"] == 4


def test_streams_are_reproducible_and_independent() -> None:
    a = streams(3, ("x", "y"))
    b = streams(3, ("x", "y"))
    c = streams(4, ("x", "y"))
    xa, ya = a["x"].random(5), a["y"].random(5)
    assert np.array_equal(xa, b["x"].random(5))
    assert not np.array_equal(xa, ya)
    assert not np.array_equal(xa, c["x"].random(5))
