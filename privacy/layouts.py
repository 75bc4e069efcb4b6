"""The two packing layouts of a federated run: model updates and evaluation histograms.

Both sides derive them from the same run-config numbers, so a member and the coordinator agree
without exchanging anything but the run config:

- updates: parameters clipped to ``[-param_clip, param_clip]``, ``value_bits`` fixed point,
  weighted by an integer FedAvg weight ``1 <= w <= max_weight`` (rows in units of
  ``weight_unit``, see :func:`fedavg_weight`);
- histograms: integer counts (exact), unweighted.

Example
-------
>>> upd, hist = run_layouts(param_clip=8.0, value_bits=16, max_members=16, max_weight=64)
>>> upd.slot_bits, hist.step
(26, 1.0)
>>> fedavg_weight(rows=1234, weight_unit=100, max_weight=64)
13
"""

from __future__ import annotations

import math

from privacy.packing import PackingConfig


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
