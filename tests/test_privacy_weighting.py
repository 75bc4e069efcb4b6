"""Update weights: plain FedAvg rows vs the inverse variance of the member's DP noise."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from participant_node.config import MemberConfig
from participant_node.private_round import RoundPrivacy, update_weight
from privacy.layouts import dp_noise_weight, fedavg_weight


def _cfg(**rc: object) -> MemberConfig:
    return MemberConfig.from_run_config(
        {"encryption": "none", "insecure-plaintext": True, "max-weight": 255, **rc}
    )


def _round(sigma: float, steps: int, dp: bool = True) -> RoundPrivacy:
    return RoundPrivacy(dp, 1.0 if dp else math.inf, 1e-5, sigma, 3.0, 0.1, steps)


def test_noise_weight_is_inverse_variance_by_hand() -> None:
    # steps * sigma^2 = 2 * 4 = 8 -> 4096 / 8 = 512, clamped to 255; 16 * 4 = 64 -> 64
    assert dp_noise_weight(noise_multiplier=2.0, local_steps=2, scale=4096, max_weight=255) == 255
    assert dp_noise_weight(noise_multiplier=2.0, local_steps=16, scale=4096, max_weight=255) == 64
    # a very noisy member still takes part with the minimum weight 1
    assert dp_noise_weight(noise_multiplier=100.0, local_steps=50, scale=4096, max_weight=255) == 1


@given(
    sigma=st.floats(0.3, 30.0),
    steps=st.integers(1, 500),
    factor=st.floats(1.01, 4.0),
)
def test_more_noise_never_gets_more_weight(sigma: float, steps: int, factor: float) -> None:
    w = dp_noise_weight(noise_multiplier=sigma, local_steps=steps, scale=4096, max_weight=255)
    noisier = dp_noise_weight(
        noise_multiplier=sigma * factor, local_steps=steps, scale=4096, max_weight=255
    )
    longer = dp_noise_weight(
        noise_multiplier=sigma, local_steps=steps * 2, scale=4096, max_weight=255
    )
    assert 1 <= noisier <= w <= 255 and 1 <= longer <= w


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"noise_multiplier": 0.0, "local_steps": 1, "scale": 1.0}, "noise multiplier must be > 0"),
        ({"noise_multiplier": 1.0, "local_steps": 0, "scale": 1.0}, "local steps must be >= 1"),
        ({"noise_multiplier": 1.0, "local_steps": 1, "scale": 0.0}, "noise-weight-scale"),
    ],
)
def test_noise_weight_rejects_bad_input(kwargs: dict[str, float], rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        dp_noise_weight(max_weight=255, **kwargs)  # type: ignore[arg-type]


def test_auto_weighting_follows_dp() -> None:
    cfg = _cfg()
    # DP on: inverse noise variance, independent of the row count
    assert update_weight(cfg, 5000, _round(2.0, 16)) == 64
    assert update_weight(cfg, 50, _round(2.0, 16)) == 64
    # DP off: plain FedAvg rows
    plain = _round(0.0, 0, dp=False)
    assert update_weight(cfg, 5000, plain) == fedavg_weight(
        rows=5000, weight_unit=100, max_weight=255
    )


def test_explicit_rows_weighting_under_dp() -> None:
    assert update_weight(_cfg(weighting="rows"), 1234, _round(2.0, 16)) == 13


def test_weighting_setting_is_validated() -> None:
    with pytest.raises(ValueError, match="weighting must be one of"):
        _cfg(weighting="size")
    with pytest.raises(ValueError, match="needs dp = true"):
        _cfg(weighting="dp-noise", dp=False)
