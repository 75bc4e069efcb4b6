"""Scoring policy TOML, points (PDO convention) and tiers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from participant_node.scoring import (
    PolicyError,
    ScoringPolicy,
    assign_tier,
    load_policy,
    pd_to_points,
    points_to_pd,
)


def test_defaults_follow_the_issue() -> None:
    p = load_policy()
    assert [p.terms[t].days for t in "ABCD"] == [60, 45, 30, 0]
    assert "cash on delivery" in p.terms["D"].text
    assert [(s.days, s.action) for s in p.receivables_stages] == [
        (30, "negotiate"), (60, "collection agency"), (90, "legal"),
    ]  # fmt: skip


def test_toml_overrides(tmp_path: Path) -> None:
    f = tmp_path / "policy.toml"
    f.write_text(
        "[points]\npdo = 40\n[tiers]\nA = 650\n[overlay]\nenabled = false\n"
        '[warnings]\nreceivables_column = "dpd"\n[terms.B]\ndays = 40\n'
    )
    p = load_policy(f)
    assert p.pdo == 40 and p.cutoffs == (650.0, 570.0, 540.0)
    assert p.overlay_weight_effective == 0.0
    assert p.receivables_column == "dpd"
    assert p.terms["B"].days == 40 and p.terms["B"].text.startswith("45-day")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tiers]\nA = 560\n", "cut-offs must decrease from A to C; got A=560 <= B=570"),
        ("[points]\npdo = -1\n", r"points.pdo must be a finite number > 0"),
        ("[overlay]\nweight = 2\n", r"overlay.weight must be in \[0, 1\]"),
        ("[colours]\nx = 1\n", r"unknown section \[colours\]"),
        ("[points]\nbase = 1\n", r"\[points\] has unknown key"),
        ("[tiers]\nA = 'high'\n", "tiers.A must be a number"),
        (
            "[[warnings.receivables_stage]]\ndays = 60\naction = 'x'\n"
            "[[warnings.receivables_stage]]\ndays = 30\naction = 'y'\n",
            "strictly increasing; got",
        ),
    ],
)
def test_bad_policy_names_file_key_and_rule(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "p.toml"
    f.write_text(text)
    with pytest.raises(PolicyError, match=message) as err:
        load_policy(f)
    assert str(f) in str(err.value)


def test_points_convention() -> None:
    p = ScoringPolicy(pdo=20, base_score=600, base_odds=50)
    # base odds 50:1 -> PD 1/51 -> base score; doubling the odds adds PDO points
    assert float(pd_to_points(1 / 51, p)) == pytest.approx(600.0)
    assert float(pd_to_points(1 / 101, p)) == pytest.approx(620.0)
    assert float(pd_to_points(1 / 26, p)) == pytest.approx(580.0)


@settings(max_examples=80, deadline=None)
@given(st.floats(1e-6, 1 - 1e-6), st.floats(5, 100), st.floats(300, 900), st.floats(1, 200))
def test_points_round_trip(pd: float, pdo: float, base: float, odds: float) -> None:
    p = ScoringPolicy(pdo=pdo, base_score=base, base_odds=odds, cutoffs=(3e3, 2e3, 1e3))
    assert float(points_to_pd(pd_to_points(pd, p), p)) == pytest.approx(pd, rel=1e-9)


def test_tiers_at_cutoffs() -> None:
    p = ScoringPolicy()
    pts = np.array([600.0, 599.99, 570.0, 540.0, 539.0, math.inf])
    assert assign_tier(pts, p).tolist() == ["A", "B", "B", "C", "D", "A"]
