"""The two packing layouts of a federated run: model updates and evaluation histograms.

Both sides derive them from the same run-config numbers, so a member and the coordinator agree
without exchanging anything but the run config:

- updates: parameters clipped to ``[-param_clip, param_clip]``, ``value_bits`` fixed point,
  weighted by an integer weight ``1 <= w <= max_weight``: rows in units of ``weight_unit``
  (:func:`fedavg_weight`, plain FedAvg) or, under DP, the inverse variance of the member's DP
  noise (:func:`dp_noise_weight`);
- histograms: integer counts (exact), unweighted.

Example
-------
>>> upd, hist = run_layouts(param_clip=8.0, value_bits=16, max_members=16, max_weight=64)
>>> upd.slot_bits, hist.step
(26, 1.0)
>>> fedavg_weight(rows=1234, weight_unit=100, max_weight=64)
13
>>> dp_noise_weight(noise_multiplier=2.0, local_steps=16, scale=4096.0, max_weight=255)
64
"""

from __future__ import annotations

import math

from privacy.packing import PackingConfig

WEIGHTINGS: tuple[str, ...] = ("auto", "rows", "dp-noise")


def run_layouts(
    *, param_clip: float, value_bits: int, max_members: int, max_weight: int
) -> tuple[PackingConfig, PackingConfig]:
    """``(update_layout, histogram_layout)`` for one run."""
    update = PackingConfig.symmetric(
        clip=param_clip, value_bits=value_bits, max_members=max_members, max_weight=max_weight
    )
    histogram = PackingConfig.counts(value_bits=value_bits, max_members=max_members)
    return update, histogram


def fedavg_weight(*, rows: int, weight_unit: int, max_weight: int) -> int:
    """FedAvg weight of a member with ``rows`` training rows: ``ceil(rows / weight_unit)``
    capped at ``max_weight`` (coarse weights keep slots narrow; FedAvg needs only the ratio).
    """
    if rows < 1:
        raise ValueError(f"rows must be >= 1; got {rows}")
    if weight_unit < 1:
        raise ValueError(f"weight-unit must be >= 1; got {weight_unit}")
    if max_weight < 1:
        raise ValueError(f"max-weight must be >= 1; got {max_weight}")
    return min(max_weight, math.ceil(rows / weight_unit))


def dp_noise_weight(
    *, noise_multiplier: float, local_steps: int, scale: float, max_weight: int
) -> int:
    """Inverse-variance weight of a DP-SGD update: ``round(scale / (steps * sigma^2))``.

    A member's round runs ``steps`` DP-SGD steps, each adding Gaussian noise of standard
    deviation ``lr * sigma * C / B`` per coordinate (``B`` the expected batch, ``C`` the clip
    norm, both shared by the run), so the noise variance of its update is proportional to
    ``steps * sigma^2``. Weighting updates by the inverse of that variance is the minimum-
    variance combination of the members' noisy estimates (Cochran 1954; for DP federated
    averaging see e.g. Liu et al., "Projected federated averaging with heterogeneous
    differential privacy", VLDB 2022). Small members, which need a large ``sigma`` for the same
    epsilon, get less weight than their row count would give; the result is clamped to
    ``[1, max_weight]`` and depends only on public DP parameters, never on the data.

    Complexity: O(1).

    Example
    -------
    >>> dp_noise_weight(noise_multiplier=7.27, local_steps=2, scale=4096.0, max_weight=255)
    39
    >>> dp_noise_weight(noise_multiplier=1.82, local_steps=18, scale=4096.0, max_weight=255)
    69
    """
    if not noise_multiplier > 0:
        raise ValueError(
            f"noise multiplier must be > 0 for dp-noise weighting; got {noise_multiplier}"
        )
    if local_steps < 1:
        raise ValueError(f"local steps must be >= 1; got {local_steps}")
    if not scale > 0:
        raise ValueError(f"noise-weight-scale must be > 0; got {scale}")
    if max_weight < 1:
        raise ValueError(f"max-weight must be >= 1; got {max_weight}")
    raw = scale / (local_steps * noise_multiplier**2)
    return max(1, min(max_weight, round(raw)))
