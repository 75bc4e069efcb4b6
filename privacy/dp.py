"""DP-SGD settings and noised evaluation histograms, both accounted by :mod:`privacy.accountant`.

A member trains with DP-SGD (Abadi et al., "Deep Learning with Differential Privacy", CCS 2016):
per-example gradients clipped to ``clip_norm``, Gaussian noise of standard deviation
``noise_multiplier * clip_norm``, Poisson sampling with rate ``sample_rate``; one federated
round is ``local_steps`` such steps, i.e. one :class:`~privacy.accountant.Mechanism`.

Evaluation histograms (score bins of the holdout's positives and negatives, for federated
AUC/KS) are counts: adding or removing one holdout row changes exactly one bin of one of the
histograms by 1, so their joint L2 sensitivity is 1. :func:`noise_counts` adds rounded Gaussian
noise (the Gaussian mechanism followed by rounding, which is post-processing and costs nothing
extra) and :func:`histogram_mechanism` is its ledger charge (``sample_rate = 1``, one step).

Without noise, the decrypted aggregate histograms reveal to every member (not the coordinator)
the exact score distribution of the union of the round's holdouts; differencing two rounds
with different member sets, or a round with two members, reveals a single member's holdout
histogram, and a single row's presence shows up as a count difference of 1: no DP.

Example
-------
>>> s = DPSettings(clip_norm=1.0, noise_multiplier=1.1, sample_rate=0.01, local_steps=50,
...                delta=1e-5)
>>> 0 < s.epsilon_after(rounds=10) < s.epsilon_after(rounds=20)
True
>>> import numpy as np
>>> noise_counts(np.array([5, 0, 2]), sigma=1e-9).tolist()
[5, 0, 2]
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

import numpy as np

from privacy.accountant import (
    Mechanism,
    check_accountant,
    check_delta,
    check_noise_multiplier,
    check_sample_rate,
    check_steps,
    compute_epsilon,
    noise_for_target,
)


@dataclass(frozen=True)
class DPSettings:
    """DP-SGD hyper-parameters of one member and the accountant that reports them.

    Parameters
    ----------
    clip_norm
        Per-example gradient L2 clip norm (> 0).
    noise_multiplier
        Noise standard deviation / clip norm (> 0).
    sample_rate
        Poisson sampling rate of a batch, in (0, 1] (batch size / rows).
    local_steps
        DP-SGD steps per federated round (>= 1).
    delta
        Target delta, in (0, 1); should be below 1 / rows (see :meth:`check_rows`).
    accountant
        ``rdp`` (default) or ``prv``.
    """

    clip_norm: float
    noise_multiplier: float
    sample_rate: float
    local_steps: int
    delta: float
    accountant: str = "rdp"

    def __post_init__(self) -> None:
        if not (
            isinstance(self.clip_norm, int | float)
            and math.isfinite(self.clip_norm)
            and self.clip_norm > 0
        ):
            raise ValueError(f"clip_norm must be finite and > 0; got {self.clip_norm!r}")
        check_noise_multiplier(self.noise_multiplier)
        check_sample_rate(self.sample_rate)
        check_steps(self.local_steps, "local_steps")
        check_delta(self.delta)
        check_accountant(self.accountant)

    @classmethod
    def from_target(
        cls,
        *,
        epsilon: float,
        delta: float,
        rounds: int,
        steps_per_round: int,
        sample_rate: float,
        clip_norm: float,
        accountant: str = "rdp",
    ) -> DPSettings:
        """Settings whose noise multiplier spends at most ``epsilon`` over ``rounds`` rounds."""
        check_steps(rounds, "rounds")
        check_steps(steps_per_round, "steps_per_round")
        sigma = noise_for_target(
            epsilon, delta, sample_rate, rounds * steps_per_round, accountant=accountant
        )
        return cls(clip_norm, sigma, sample_rate, steps_per_round, delta, accountant)

    def round_mechanism(self) -> Mechanism:
        """The charge of one federated round (``local_steps`` DP-SGD steps)."""
        return Mechanism(self.noise_multiplier, self.sample_rate, self.local_steps, "dp-sgd")

    def epsilon_after(self, rounds: int) -> float:
        """Epsilon at ``delta`` after ``rounds`` rounds (fresh dataset)."""
        check_steps(rounds, "rounds")
        m = self.round_mechanism()
        total = Mechanism(m.noise_multiplier, m.sample_rate, m.steps * rounds, m.kind)
        return compute_epsilon([total], self.delta, self.accountant)

    def check_rows(self, rows: int) -> None:
        """Rule: ``delta < 1 / rows`` (otherwise releasing one whole row fits the guarantee)."""
        if rows >= 1 and self.delta >= 1.0 / rows:
            raise ValueError(
                f"delta must be < 1/rows = {1.0 / rows:.3g} for a dataset of {rows} rows; "
                f"got {self.delta:g}"
            )


def histogram_mechanism(sigma: float) -> Mechanism:
    """Ledger charge of one :func:`noise_counts` release (L2 sensitivity 1)."""
    return Mechanism(noise_multiplier=sigma, sample_rate=1.0, steps=1, kind="histogram")


def noise_counts(
    counts: np.ndarray, sigma: float, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Integer counts plus ``round(N(0, sigma^2))`` per bin (Gaussian mechanism, sensitivity 1).

    Results may be negative; encode them with ``PackingConfig.counts(signed=True)``. ``rng``
    defaults to a generator seeded from the OS CSPRNG (``secrets``); rounding to integers
    removes the low-order floating-point bits exploited by Mironov (CCS 2012).
    """
    check_noise_multiplier(sigma)
    arr = np.asarray(counts)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"counts must be an integer array; got dtype {arr.dtype}")
    if arr.size and int(arr.min()) < 0:
        raise ValueError("counts must be >= 0 before noising")
    gen = rng if rng is not None else np.random.default_rng(secrets.randbits(128))
    noise = np.rint(gen.normal(0.0, sigma, size=arr.shape)).astype(np.int64)
    return arr.astype(np.int64) + noise
