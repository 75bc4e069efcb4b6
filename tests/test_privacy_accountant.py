"""Privacy accounting (privacy.accountant, privacy.dp) against Opacus' independent accountants."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opacus.accountants import PRVAccountant, RDPAccountant
from opacus.accountants.utils import get_noise_multiplier

from privacy.accountant import (
    ORDERS,
    Mechanism,
    PrivacyAccountant,
    _log_a_integer,
    compute_epsilon,
    log_a_series,
    merge_history,
    noise_for_target,
    rdp_sampled_gaussian,
)
from privacy.dp import DPSettings, histogram_mechanism, noise_counts

# Opacus' PRV accountant warns about log(0) at q = 1 and its RDP grid about the largest order.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")

# (sample rate, noise multiplier, steps, delta): the practical DP-SGD range, epsilon ~0.3..20
SETTINGS = [
    (0.01, 1.1, 1000, 1e-5),
    (0.05, 2.0, 200, 1e-5),
    (0.02, 0.9, 300, 1e-6),
    (0.1, 0.8, 100, 1e-5),
    (0.004, 1.5, 2000, 1e-5),
    (1.0, 5.0, 10, 1e-5),
]


def opacus_rdp(history: list[tuple[float, float, int]], delta: float) -> float:
    acc = RDPAccountant()
    acc.history = list(history)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(acc.get_epsilon(delta))


def opacus_prv(history: list[tuple[float, float, int]], delta: float) -> float:
    acc = PRVAccountant()
    acc.history = list(history)
    return float(acc.get_epsilon(delta))


@pytest.mark.parametrize(("q", "sigma", "steps", "delta"), SETTINGS)
def test_epsilon_agrees_with_opacus_rdp_and_never_undercuts_prv(
    q: float, sigma: float, steps: int, delta: float
) -> None:
    # Execute
    ours = compute_epsilon([Mechanism(sigma, q, steps)], delta)
    rdp = opacus_rdp([(sigma, q, steps)], delta)
    prv = opacus_prv([(sigma, q, steps)], delta)
    # Assert: same value as Opacus' RDP (our order grid contains theirs) and not below the
    # tight PRV bound (minus its stated error)
    assert ours == pytest.approx(rdp, rel=1e-6)
    assert ours >= prv - 0.02


def test_tiny_epsilon_is_tighter_than_opacus_grid_but_still_above_prv() -> None:
    # Optimal order above 63 (Opacus' largest): our grid goes to 512.
    ours = compute_epsilon([Mechanism(4.0, 0.004, 100)], 1e-5)
    assert ours < opacus_rdp([(4.0, 0.004, 100)], 1e-5)
    assert ours >= opacus_prv([(4.0, 0.004, 100)], 1e-5) - 0.02


def test_heterogeneous_history_composes_like_opacus() -> None:
    # Prepare: two DP-SGD rounds with different settings plus a noised histogram
    history = [Mechanism(1.1, 0.01, 100), Mechanism(0.9, 0.02, 50), histogram_mechanism(20.0)]
    raw = [(m.noise_multiplier, m.sample_rate, m.steps) for m in history]
    # Execute
    ours = compute_epsilon(history, 1e-5)
    # Assert
    assert ours == pytest.approx(opacus_rdp(raw, 1e-5), rel=1e-6)
    assert compute_epsilon(history, 1e-5, accountant="prv") == pytest.approx(opacus_prv(raw, 1e-5))


@pytest.mark.parametrize(("q", "sigma"), [(0.01, 1.1), (0.1, 0.8), (0.001, 0.6), (0.5, 3.0)])
def test_fractional_series_reproduces_the_exact_integer_sums(q: float, sigma: float) -> None:
    # Two independent derivations of A_a must agree where both apply.
    orders = [2, 3, 7, 20, 64]
    exact = _log_a_integer(q, sigma, orders)
    series = log_a_series(q, sigma, [float(a) for a in orders])
    assert np.allclose(exact, series, rtol=1e-10, atol=1e-12)


def test_full_batch_gaussian_rdp_is_the_closed_form() -> None:
    # The Gaussian mechanism has RDP alpha / (2 sigma^2); the binomial sum at q -> 1 tends to it.
    sigma = 3.0
    closed = np.asarray(ORDERS) / (2 * sigma**2)
    assert np.allclose(rdp_sampled_gaussian(1.0, sigma, steps=4), 4 * closed)
    near = rdp_sampled_gaussian(1 - 1e-9, sigma)
    assert np.allclose(near[:80], closed[:80], rtol=1e-6)


def test_small_sampling_rate_matches_the_known_asymptotic() -> None:
    # For small q and integer alpha, RDP ~ q^2 alpha (alpha-1)... leading term q^2 C(alpha,2)
    # (e^{1/sigma^2} - 1) / (alpha - 1) (Mironov et al. 2019, Sec. 3.3).
    q, sigma = 1e-4, 2.0
    rdp = rdp_sampled_gaussian(q, sigma)
    lead = q**2 * (np.asarray(ORDERS[:15]) / 2) * (math.exp(1 / sigma**2) - 1)
    assert np.allclose(rdp[:15], lead, rtol=1e-3)


@settings(max_examples=12, deadline=None)
@given(
    q=st.floats(1e-4, 1.0),
    sigma=st.floats(0.5, 20.0),
    steps=st.integers(1, 5000),
)
def test_epsilon_grows_with_steps_and_rate_and_shrinks_with_noise(
    q: float, sigma: float, steps: int
) -> None:
    base = compute_epsilon([Mechanism(sigma, q, steps)], 1e-5)
    assert compute_epsilon([Mechanism(sigma, q, steps + 10)], 1e-5) >= base
    assert compute_epsilon([Mechanism(sigma * 1.5, q, steps)], 1e-5) <= base
    assert compute_epsilon([Mechanism(sigma, min(1.0, q * 2), steps)], 1e-5) >= base


@pytest.mark.parametrize(
    ("eps", "q", "steps"), [(1.0, 0.01, 1000), (8.0, 0.02, 500), (3.0, 0.05, 100)]
)
def test_noise_for_target_meets_the_target_and_agrees_with_opacus(
    eps: float, q: float, steps: int
) -> None:
    sigma = noise_for_target(eps, 1e-5, q, steps)
    spent = compute_epsilon([Mechanism(sigma, q, steps)], 1e-5)
    assert eps - 0.011 <= spent <= eps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = get_noise_multiplier(
            target_epsilon=eps, target_delta=1e-5, sample_rate=q, steps=steps
        )
    assert abs(sigma / theirs - 1) <= 0.03


def test_settings_from_target_spend_at_most_the_target_over_the_rounds() -> None:
    s = DPSettings.from_target(
        epsilon=2.0, delta=1e-5, rounds=20, steps_per_round=25, sample_rate=0.01, clip_norm=1.0
    )
    assert s.local_steps == 25
    assert 1.98 <= s.epsilon_after(20) <= 2.0
    assert s.epsilon_after(10) < s.epsilon_after(20)
    assert s.round_mechanism() == Mechanism(s.noise_multiplier, 0.01, 25, "dp-sgd")


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("clip_norm", 0.0, "clip_norm must be finite and > 0"),
        ("noise_multiplier", -1.0, "noise_multiplier must be finite and > 0"),
        ("sample_rate", 1.5, r"sample_rate must be in \(0, 1\]"),
        ("local_steps", 0, "local_steps must be an integer >= 1"),
        ("delta", 1.0, r"delta must be in \(0, 1\)"),
        ("accountant", "moments", "accountant must be one of"),
    ],
)
def test_settings_validate_each_field_with_a_named_rule(
    field: str, value: object, rule: str
) -> None:
    base = {
        "clip_norm": 1.0,
        "noise_multiplier": 1.0,
        "sample_rate": 0.01,
        "local_steps": 10,
        "delta": 1e-5,
    }
    with pytest.raises(ValueError, match=rule):
        DPSettings(**{**base, field: value})  # type: ignore[arg-type]


def test_delta_must_be_below_one_over_rows() -> None:
    s = DPSettings(1.0, 1.0, 0.01, 10, delta=1e-3)
    s.check_rows(999)
    with pytest.raises(ValueError, match="1/rows"):
        s.check_rows(1000)


def test_noise_for_target_refuses_impossible_targets() -> None:
    with pytest.raises(ValueError, match="epsilon must be finite"):
        noise_for_target(0.0, 1e-5, 0.01, 10)
    with pytest.raises(ValueError, match="noise_multiplier >"):
        noise_for_target(1e-9, 1e-12, 1.0, 100000)


def test_accountant_state_dict_round_trip() -> None:
    acc = PrivacyAccountant()
    acc.step(Mechanism(1.1, 0.01, 100))
    acc.step(histogram_mechanism(10.0))
    other = PrivacyAccountant("prv")
    other.load_state_dict(acc.state_dict())
    assert other.accountant == "rdp" and other.history == acc.history
    assert other.epsilon(1e-5) == acc.epsilon(1e-5) > 0
    assert acc.epsilon_with(Mechanism(1.1, 0.01, 100), 1e-5) > acc.epsilon(1e-5)
    assert PrivacyAccountant().epsilon(1e-5) == 0.0


def test_noise_counts_adds_rounded_gaussian_noise_of_the_right_scale() -> None:
    # Prepare
    counts = np.full(20000, 50, dtype=np.int64)
    # Execute
    noised = noise_counts(counts, sigma=4.0, rng=np.random.default_rng(0))
    # Assert: integers, unbiased, standard deviation ~ sqrt(16 + 1/12) (rounding)
    assert noised.dtype == np.int64
    assert abs(float(np.mean(noised - counts))) < 0.1
    assert abs(float(np.std(noised - counts)) - math.sqrt(16 + 1 / 12)) < 0.1
    assert not np.array_equal(noise_counts(counts[:100], 4.0), noise_counts(counts[:100], 4.0))


def test_noise_counts_refuses_non_counts() -> None:
    with pytest.raises(ValueError, match="integer"):
        noise_counts(np.array([0.5]), 1.0)
    with pytest.raises(ValueError, match=">= 0"):
        noise_counts(np.array([-1]), 1.0)
    with pytest.raises(ValueError, match="noise_multiplier"):
        noise_counts(np.array([1]), 0.0)


def log_a_by_quadrature(q: float, sigma: float, alpha: float) -> float:
    """A third, brute-force route: trapezoid rule on a fine grid, in log space."""
    z = np.linspace(-60 * sigma, 60 * sigma + 60, 200_001)
    log_f = (
        -z * z / (2 * sigma**2)
        - math.log(sigma * math.sqrt(2 * math.pi))
        + alpha * np.logaddexp(math.log1p(-q), math.log(q) + (2 * z - 1) / (2 * sigma**2))
    )
    peak = float(log_f.max())
    return peak + math.log(float(np.trapezoid(np.exp(log_f - peak), z)))


@pytest.mark.parametrize(("q", "sigma"), [(1e-4, 0.5), (0.1, 0.8), (0.9, 10.0), (0.99, 2.0)])
def test_fractional_series_matches_brute_force_quadrature(q: float, sigma: float) -> None:
    alphas = [1.1, 2.5, 6.3, 10.9]
    series = log_a_series(q, sigma, alphas)
    quad = [log_a_by_quadrature(q, sigma, a) for a in alphas]
    assert np.allclose(series, quad, rtol=1e-9, atol=1e-9)


def test_merging_equal_settings_changes_nothing_but_float_drift() -> None:
    a, b = Mechanism(1.1, 0.01, 30), Mechanism(2.0, 0.05, 7, "histogram")
    history = [a, b, a, a]
    assert merge_history(history) == [Mechanism(1.1, 0.01, 90), Mechanism(2.0, 0.05, 7)]
    assert compute_epsilon(history, 1e-5) == compute_epsilon([b, Mechanism(1.1, 0.01, 90)], 1e-5)
