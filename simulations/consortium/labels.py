"""Observed defaults and the 6-month default label, from own risk and the relationship graph.

Two stages share the company's own risk ``r_i`` (see :mod:`.companies`) and two latent shocks
that only the graph can reveal:

* ``u_g ~ N(0, 1.0^2)`` for every controller group ``g`` (0 for standalone companies),
* ``v_c ~ N(0, 1.1^2)`` for every strongly connected component ``c`` of size >= 2 of the
  guarantee graph in force at the scoring date (0 outside cycles); ``C_i = 1`` when ``i``
  lies in such a component, i.e. on a guarantee circle.

With ``lambda`` = ``graph_effect`` and ``N_i = 1`` for companies fronted by a nominee legal
representative, the *history* stage draws the observed defaults::

    logit P(D_i = 1) = a_h + r_i + lambda (u_g(i) + v_c(i) + 1.4 C_i + 0.6 N_i)

with a default date uniform over the 730 days before the scoring date. Among the companies
that have not defaulted, the *label* stage adds contagion from those observed defaults::

    k_i = #{j : i guarantees j (in force), D_j = 1}             defaulted guaranteed borrowers
    x_i = min(1, sum_j amount_ij D_j / total_assets_i)          exposure to them
    q_i = #{j != i : group(j) = group(i), D_j = 1}              defaulted related parties
    logit P(Y_i = 1) = a_f + r_i + lambda (u_g(i) + v_c(i) + 1.4 C_i + 0.6 N_i
                                           + 1.7 log(1 + k_i) + 1.0 x_i + 1.5 log(1 + q_i))

``Y_i`` is ``default_6m``. The intercepts ``a_h`` and ``a_f`` are solved (bisection on the
mean probability) so that the observed default share is ``history_default_rate`` and the
label's positive share among scored companies is ``default_rate``.

Complexity: O(n + E) (one strongly-connected-components pass, a few bincounts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

SIGMA_GROUP = 1.0
SIGMA_CIRCLE = 1.1
COEF = {
    "circle": 1.4,
    "nominee": 0.6,
    "defaulted_guaranteed": 1.7,
    "exposure": 1.0,
    "related_defaults": 1.5,
}


@dataclass(frozen=True)
class Labels:
    """Outcomes per company (index ``i`` is company ``i``)."""

    defaulted: np.ndarray  # bool[n]: observed default before the scoring date
    default_day: np.ndarray  # int64[n]: days relative to the scoring date (< 0), 0 if none
    default_6m: np.ndarray  # int8[n]: label, 0 for already-defaulted companies
    in_cycle: np.ndarray  # bool[n]: on a guarantee circle in force
    pd_6m: np.ndarray  # float64[n]: true probability behind default_6m
    model: dict[str, float]  # coefficients and calibrated intercepts


def cycle_components(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strongly connected component of every node and whether it lies on a directed cycle.

    A node lies on a directed cycle exactly when its component has >= 2 nodes (no
    self-loops). Tarjan/Pearce via ``scipy.sparse.csgraph``, O(n + E).

    >>> comp, on = cycle_components(4, np.array([0, 1, 2]), np.array([1, 0, 3]))
    >>> on.tolist()
    [True, True, False, False]
    """
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n)).tocsr()
    _, comp = connected_components(graph, directed=True, connection="strong")
    sizes = np.bincount(comp, minlength=n)
    return comp.astype(np.int64), sizes[comp] >= 2


def calibrate_intercept(eta: np.ndarray, target: float) -> float:
    """Intercept ``a`` with ``mean(sigmoid(a + eta)) == target`` (Brent's method).

    >>> a = calibrate_intercept(np.zeros(10), 0.25)
    >>> round(float(1 / (1 + np.exp(-a))), 6)
    0.25
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"target rate must be in (0, 1); got {target}")

    def gap(a: float) -> float:
        return float(np.mean(_sigmoid(a + eta))) - target

    return float(brentq(gap, -60.0, 60.0, xtol=1e-10))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def make_labels(
    own_risk: np.ndarray,
    group_of: np.ndarray,
    nominee: np.ndarray,
    total_assets: np.ndarray,
    guarantor: np.ndarray,
    borrower: np.ndarray,
    amount: np.ndarray,
    *,
    history_rate: float,
    default_rate: float,
    graph_effect: float,
    rng: np.random.Generator,
) -> Labels:
    """Draw observed defaults and ``default_6m`` (module docstring); edges must be in force."""
    n = len(own_risk)
    lam = graph_effect
    n_groups = int(group_of.max()) + 1 if len(group_of) else 0
    u_group = rng.normal(0.0, SIGMA_GROUP, size=n_groups + 1)
    u_group[-1] = 0.0  # index -1 (standalone) maps here
    comp, in_cycle = cycle_components(n, guarantor, borrower)
    v_comp = rng.normal(0.0, SIGMA_CIRCLE, size=n)
    shared = (
        u_group[group_of]
        + np.where(in_cycle, v_comp[comp], 0.0)
        + COEF["circle"] * in_cycle
        + COEF["nominee"] * nominee
    )
    eta_h = own_risk + lam * shared
    a_h = calibrate_intercept(eta_h, history_rate)
    defaulted = rng.random(n) < _sigmoid(a_h + eta_h)
    default_day = np.where(defaulted, -rng.integers(1, 731, size=n), 0).astype(np.int64)

    d = defaulted.astype(np.float64)
    k = np.bincount(guarantor, weights=d[borrower], minlength=n)
    x = np.minimum(
        1.0, np.bincount(guarantor, weights=amount * d[borrower], minlength=n) / total_assets
    )
    grp_defaults = np.bincount(
        group_of[group_of >= 0], weights=d[group_of >= 0], minlength=n_groups
    )
    q = np.where(group_of >= 0, np.append(grp_defaults, 0.0)[group_of] - d, 0.0)
    contagion = (
        COEF["defaulted_guaranteed"] * np.log1p(k)
        + COEF["exposure"] * x
        + COEF["related_defaults"] * np.log1p(q)
    )
    eta_f = own_risk + lam * (shared + contagion)
    alive = ~defaulted
    a_f = calibrate_intercept(eta_f[alive], default_rate)
    pd_6m = np.where(alive, _sigmoid(a_f + eta_f), 0.0)
    y = (rng.random(n) < pd_6m).astype(np.int8)
    model = {
        "intercept_history": a_h,
        "intercept_label": a_f,
        "graph_effect": lam,
        "sigma_group": SIGMA_GROUP,
        "sigma_circle": SIGMA_CIRCLE,
        **{f"coef_{name}": value for name, value in COEF.items()},
    }
    return Labels(
        defaulted=defaulted,
        default_day=default_day,
        default_6m=y,
        in_cycle=in_cycle,
        pd_6m=pd_6m,
        model=model,
    )
