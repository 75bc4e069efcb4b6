"""Privacy accounting for the Poisson-subsampled Gaussian mechanism (DP-SGD, noisy counts).

The default accountant is Renyi DP computed here from the paper (no torch import, so the
coordinator can use it). For an order ``a`` the RDP of one step with sampling rate ``q`` and
noise multiplier ``sigma`` is ``log(A_a) / (a - 1)``; for integer ``a``

    A_a = sum_{k=0}^{a} C(a, k) (1 - q)^(a - k) q^k exp((k^2 - k) / (2 sigma^2)),

an exact finite sum evaluated in log space; for fractional ``a`` (1.1 ... 10.9) the two-sided
series of Mironov, Talwar, Zhang, "Renyi Differential Privacy of the Sampled Gaussian
Mechanism", 2019, Sec. 3.3 (:func:`log_a_series`; at integer orders it reproduces the exact
sum, which the tests check). RDP adds up over steps and over heterogeneous mechanisms; it
converts to ``(epsilon, delta)`` with Balle et al., "Hypothesis Testing Interpretations and
Renyi Differential Privacy", AISTATS 2020, Thm. 21, minimised over the orders (integer orders up
to 512, so small epsilons are tighter than with Opacus' grid that stops at 63).
``accountant="prv"`` uses Opacus' PRV accountant (Gopi, Lee, Wutschitz, NeurIPS 2021) instead
(imports torch). Both are checked against Opacus' ``RDPAccountant`` and ``PRVAccountant`` in
the tests.

Example
-------
>>> m = Mechanism(noise_multiplier=1.0, sample_rate=1.0, steps=1)
>>> round(compute_epsilon([m], delta=1e-5), 2)   # one Gaussian release, sensitivity 1
4.73

Complexity: O(|orders| * max_order) per distinct (sigma, q), cached.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

INTEGER_ORDERS: tuple[int, ...] = (*range(2, 129), 160, 192, 256, 384, 512)
FRACTIONAL_ORDERS: tuple[float, ...] = tuple(1 + x / 10 for x in range(1, 100) if x % 10)
ORDERS: tuple[float, ...] = tuple(sorted((*map(float, INTEGER_ORDERS), *FRACTIONAL_ORDERS)))
SERIES_CUTOFF = -30.0  # stop the fractional-order series once terms are below e^-30 (A_a >= 1)
ACCOUNTANTS = ("rdp", "prv")
MAX_SIGMA = 1e6


@dataclass(frozen=True)
class Mechanism:
    """``steps`` compositions of a Gaussian mechanism with Poisson sampling rate ``sample_rate``.

    ``noise_multiplier`` is the noise standard deviation divided by the L2 sensitivity
    (the DP-SGD clip norm, or 1 for counts). ``kind`` labels the charge (``dp-sgd``,
    ``histogram``).
    """

    noise_multiplier: float
    sample_rate: float
    steps: int
    kind: str = "dp-sgd"

    def __post_init__(self) -> None:
        check_noise_multiplier(self.noise_multiplier)
        check_sample_rate(self.sample_rate)
        check_steps(self.steps, "steps")
        if not self.kind or not isinstance(self.kind, str):
            raise ValueError(f"kind must be a non-empty string; got {self.kind!r}")


def check_noise_multiplier(sigma: float) -> None:
    """Rule: noise multiplier is finite and > 0."""
    if not (isinstance(sigma, int | float) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"noise_multiplier must be finite and > 0; got {sigma!r}")


def check_sample_rate(q: float) -> None:
    """Rule: sample rate lies in (0, 1]."""
    if not (isinstance(q, int | float) and 0 < q <= 1):
        raise ValueError(f"sample_rate must be in (0, 1]; got {q!r}")


def check_steps(steps: int, name: str) -> None:
    """Rule: a step count is an integer >= 1."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {steps!r}")


def check_delta(delta: float) -> None:
    """Rule: delta lies in (0, 1)."""
    if not (isinstance(delta, int | float) and 0 < delta < 1):
        raise ValueError(f"delta must be in (0, 1); got {delta!r}")


def check_epsilon(epsilon: float) -> None:
    """Rule: epsilon is finite and > 0."""
    if not (isinstance(epsilon, int | float) and math.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon must be finite and > 0; got {epsilon!r}")


def check_accountant(name: str) -> None:
    """Rule: accountant is one of ``rdp``, ``prv``."""
    if name not in ACCOUNTANTS:
        raise ValueError(f"accountant must be one of {ACCOUNTANTS}; got {name!r}")


def _log_a_integer(q: float, sigma: float, orders: Sequence[int]) -> np.ndarray:
    """``log A_a`` for integer orders: the exact finite binomial sum, in log space."""
    top = max(orders)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, top + 1)))])
    a = np.asarray(orders)[:, None]
    k = np.arange(top + 1)[None, :]
    kk = np.minimum(k, a)
    log_terms = (
        log_fact[a]
        - log_fact[kk]
        - log_fact[a - kk]
        + (a - kk) * math.log1p(-q)
        + kk * math.log(q)
        + (kk * kk - kk) / (2 * sigma**2)
    )
    log_terms = np.where(k <= a, log_terms, -np.inf)
    peak = log_terms.max(axis=1)
    return np.asarray(peak + np.log(np.exp(log_terms - peak[:, None]).sum(axis=1)))


def log_a_series(q: float, sigma: float, alphas: Sequence[float]) -> np.ndarray:
    """``log A_a`` for real orders ``a > 1``: the two-sided binomial series, vectorised.

    Split the integral at ``z0 = sigma^2 log(1/q - 1) + 1/2`` and expand on each side (Mironov,
    Talwar, Zhang 2019, Sec. 3.3). Terms decay polynomially; each order's series is summed
    until its terms fall below ``e^-30``. An order whose series does not converge, or cancels
    numerically, gets ``inf`` (a safe, useless bound), so it can never lower epsilon.
    """
    from scipy.special import gammaln, gammasgn, log_ndtr  # lazy: keeps `import privacy` light

    z0 = sigma**2 * math.log(1 / q - 1) + 0.5
    out = np.full(len(alphas), np.inf)
    todo = np.arange(len(alphas))
    n = 256
    while todo.size and n <= 2**18:
        a = np.asarray(alphas, dtype=np.float64)[todo][:, None]
        i = np.arange(n, dtype=np.float64)[None, :]
        j = a - i
        log_coef = gammaln(a + 1) - gammaln(i + 1) - gammaln(j + 1)
        sign = np.where(np.isfinite(log_coef), np.nan_to_num(gammasgn(j + 1)), 0.0)
        log_s0 = (
            log_coef
            + i * math.log(q)
            + j * math.log1p(-q)
            + (i * i - i) / (2 * sigma**2)
            + log_ndtr((z0 - i) / sigma)
        )
        log_s1 = (
            log_coef
            + j * math.log(q)
            + i * math.log1p(-q)
            + (j * j - j) / (2 * sigma**2)
            + log_ndtr((j - z0) / sigma)
        )
        tail = np.maximum(log_s0[:, -8:].max(axis=1), log_s1[:, -8:].max(axis=1))
        done = tail < SERIES_CUTOFF
        for row in np.flatnonzero(done):
            logs = np.concatenate([log_s0[row], log_s1[row]])
            signs = np.concatenate([sign[row], sign[row]])
            peak = float(logs[np.isfinite(logs)].max())
            total = math.fsum(signs * np.exp(logs - peak))
            out[todo[row]] = peak + math.log(total) if total > 0 else math.inf
        todo = todo[~done]
        n *= 4
    return out


@lru_cache(maxsize=256)
def _rdp_per_step(q: float, sigma: float) -> tuple[float, ...]:
    orders = np.asarray(ORDERS)
    if q == 1.0:
        return tuple(orders / (2 * sigma**2))
    known: dict[float, float] = dict(
        zip(map(float, INTEGER_ORDERS), _log_a_integer(q, sigma, INTEGER_ORDERS), strict=True)
    )
    known.update(zip(FRACTIONAL_ORDERS, log_a_series(q, sigma, FRACTIONAL_ORDERS), strict=True))
    log_a = np.asarray([known[a] for a in ORDERS])
    return tuple(log_a / (orders - 1))


def rdp_sampled_gaussian(q: float, sigma: float, steps: int = 1) -> np.ndarray:
    """RDP at :data:`ORDERS` of ``steps`` Poisson-subsampled Gaussian steps."""
    check_sample_rate(q)
    check_noise_multiplier(sigma)
    return np.asarray(_rdp_per_step(float(q), float(sigma))) * steps


def rdp_to_epsilon(rdp: np.ndarray, delta: float) -> tuple[float, float]:
    """Smallest epsilon over the orders (Balle et al. 2020, Thm. 21) and the order used."""
    check_delta(delta)
    a = np.asarray(ORDERS, dtype=np.float64)
    eps = rdp - (math.log(delta) + np.log(a)) / (a - 1) + np.log((a - 1) / a)
    i = int(np.nanargmin(eps))
    return max(0.0, float(eps[i])), float(ORDERS[i])


def compute_epsilon(history: Sequence[Mechanism], delta: float, accountant: str = "rdp") -> float:
    """Epsilon at ``delta`` after composing every mechanism in ``history`` (0 when empty)."""
    check_accountant(accountant)
    check_delta(delta)
    history = merge_history(history)
    if not history:
        return 0.0
    if accountant == "prv":
        from opacus.accountants import PRVAccountant  # lazy: imports torch

        prv = PRVAccountant()
        prv.history = [(m.noise_multiplier, m.sample_rate, m.steps) for m in history]
        return float(prv.get_epsilon(delta=delta))
    total = sum(rdp_sampled_gaussian(m.sample_rate, m.noise_multiplier, m.steps) for m in history)
    return rdp_to_epsilon(np.asarray(total), delta)[0]


def merge_history(history: Sequence[Mechanism]) -> list[Mechanism]:
    """Merge entries with equal ``(noise_multiplier, sample_rate)`` by adding their steps.

    Composition is commutative and RDP is linear in steps, so this changes nothing
    mathematically; it makes R charged rounds of one setting evaluate exactly like the single
    ``R * steps`` mechanism :func:`noise_for_target` solved for (no float drift at the budget).
    """
    steps: dict[tuple[float, float], int] = {}
    for m in history:
        key = (float(m.noise_multiplier), float(m.sample_rate))
        steps[key] = steps.get(key, 0) + m.steps
    return [Mechanism(sigma, q, n) for (sigma, q), n in steps.items()]


def noise_for_target(
    epsilon: float,
    delta: float,
    sample_rate: float,
    steps: int,
    accountant: str = "rdp",
    tolerance: float = 0.01,
) -> float:
    """Smallest noise multiplier (within ``tolerance`` in epsilon) reaching ``(epsilon, delta)``.

    Bisection like ``opacus.accountants.utils.get_noise_multiplier``, but over the same
    accountant the ledger uses, so a run configured from a target never trips the ledger.
    The returned sigma always satisfies ``compute_epsilon(...) <= epsilon``.
    """
    check_epsilon(epsilon)
    check_delta(delta)
    check_sample_rate(sample_rate)
    check_steps(steps, "steps")

    def eps_of(sigma: float) -> float:
        return compute_epsilon([Mechanism(sigma, sample_rate, steps)], delta, accountant)

    low, high = 0.0, 1.0
    eps_high = eps_of(high)
    while eps_high > epsilon:
        low, high = high, 2 * high
        if high > MAX_SIGMA:
            raise ValueError(
                f"target epsilon {epsilon} at delta {delta} needs noise_multiplier > {MAX_SIGMA}"
            )
        eps_high = eps_of(high)
    while epsilon - eps_high > tolerance and high - low > 1e-9:
        mid = (low + high) / 2
        eps_mid = eps_of(mid)
        if eps_mid <= epsilon:
            high, eps_high = mid, eps_mid
        else:
            low = mid
    return high


class PrivacyAccountant:
    """In-memory composition of mechanisms (the ledger persists the same history).

    Example
    -------
    >>> acc = PrivacyAccountant()
    >>> acc.step(Mechanism(1.1, 0.01, 100))
    >>> 0 < acc.epsilon(1e-5) < 10
    True
    """

    def __init__(self, accountant: str = "rdp") -> None:
        check_accountant(accountant)
        self.accountant = accountant
        self.history: list[Mechanism] = []

    def step(self, mechanism: Mechanism) -> None:
        """Record one more mechanism."""
        self.history.append(mechanism)

    def epsilon(self, delta: float) -> float:
        """Epsilon spent so far at ``delta``."""
        return compute_epsilon(self.history, delta, self.accountant)

    def epsilon_with(self, mechanism: Mechanism, delta: float) -> float:
        """Epsilon if ``mechanism`` were added next."""
        return compute_epsilon([*self.history, mechanism], delta, self.accountant)

    def state_dict(self) -> dict[str, Any]:
        """Serialisable state: accountant name and history."""
        return {"accountant": self.accountant, "history": [asdict(m) for m in self.history]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from :meth:`state_dict` (validates every entry)."""
        check_accountant(state["accountant"])
        self.accountant = state["accountant"]
        self.history = [Mechanism(**m) for m in state["history"]]
