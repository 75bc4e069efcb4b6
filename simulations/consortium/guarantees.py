"""Guarantee edges: planted circles (mutual guarantees included) and chains, plus background.

Construction (``n`` companies, ``pi`` a random rank of the companies)
--------------------------------------------------------------------
* **Circles.** ``max(5, round(circle_rate * n))`` disjoint cycles
  ``c_0 -> c_1 -> ... -> c_{L-1} -> c_0`` (``guarantor -> borrower``). The first five have
  lengths 2, 3, 4, 5, 6 so every length is present; the rest draw ``L`` from
  {2: .35, 3: .25, 4: .18, 5: .12, 6: .10}. A length-2 circle is a mutual guarantee. Members of
  a circle mostly share a region (local circles are the common case).
* **Chains.** ``max(2, round(chain_rate * n))`` disjoint paths of 5..15 edges (the first two
  of depth 5 and 15), ordered by ``pi``.
* **Group guarantees.** A group company's tree parent and the company guarantee one another
  (direction by ``pi``) with probability 0.3.
* **Background.** ``0.33 n`` edges; the borrower is uniform, the guarantor is from the same
  region with probability 0.6. Direction by ``pi``.

Chains, group and background edges all point from lower to higher ``pi``, so the only
directed cycles are those that run through a planted circle. Self-guarantees are dropped and
a (guarantor, borrower) pair appears once (planted edges win).

Dates are days relative to the scoring date: start in [-1095, -30], term 1-5 years; planted
edges stay in force for at least 200 days after the scoring date. Amount = borrower's total
assets x U(0.03, 0.3), rounded to thousands.

Complexity: O(n log n) (one sort for de-duplication).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulations.consortium.ownership import Groups

_CIRCLE_LENGTHS = np.array([2, 3, 4, 5, 6])
_CIRCLE_PROBS = np.array([0.35, 0.25, 0.18, 0.12, 0.10])


@dataclass(frozen=True)
class Guarantees:
    """Guarantee edges (``guarantor[e]`` guarantees ``borrower[e]``) and planted structures."""

    guarantor: np.ndarray  # int64[E]
    borrower: np.ndarray  # int64[E]
    amount: np.ndarray  # float64[E]
    start_day: np.ndarray  # int64[E], days relative to the scoring date
    end_day: np.ndarray  # int64[E], > start_day
    circles: list[np.ndarray]  # company indices in cycle order
    chains: list[np.ndarray]  # company indices in path order

    def active(self) -> np.ndarray:
        """Mask of guarantees in force at the scoring date (start <= 0 < end)."""
        return (self.start_day <= 0) & (self.end_day > 0)


def make_guarantees(
    n: int,
    groups: Groups,
    region: np.ndarray,
    total_assets: np.ndarray,
    circle_rate: float,
    chain_rate: float,
    rng: np.random.Generator,
) -> Guarantees:
    """Guarantee edges for ``n`` companies; see the module docstring.

    >>> from simulations.consortium.ownership import plan_groups
    >>> r = np.random.default_rng(0)
    >>> g = make_guarantees(200, plan_groups(200, 0.3, r), np.zeros(200, int), np.ones(200),
    ...                     0.01, 0.01, r)
    >>> sorted({len(c) for c in g.circles})
    [2, 3, 4, 5, 6]
    >>> bool((g.guarantor != g.borrower).all())
    True
    """
    rank = rng.permutation(n).astype(np.int64)
    circles, chains = _plant(n, region, rank, circle_rate, chain_rate, rng)

    circ_src = np.concatenate(circles)
    circ_dst = np.concatenate([np.roll(c, -1) for c in circles])
    chain_src = np.concatenate([c[:-1] for c in chains])
    chain_dst = np.concatenate([c[1:] for c in chains])
    n_planted = len(circ_src) + len(chain_src)

    lower = np.flatnonzero(groups.pos > 0)
    lower = lower[rng.random(len(lower)) < 0.3]
    grp_a, grp_b = groups.parent[lower], lower

    n_bg = round(0.33 * n)
    bg_b = rng.integers(0, n, size=n_bg)
    by_region = np.argsort(region, kind="stable")
    counts = np.bincount(region, minlength=int(region.max()) + 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    local = by_region[
        starts[region[bg_b]] + np.floor(rng.random(n_bg) * counts[region[bg_b]]).astype(np.int64)
    ]
    bg_a = np.where(rng.random(n_bg) < 0.6, local, rng.integers(0, n, size=n_bg))

    free_a = np.concatenate([grp_a, bg_a])
    free_b = np.concatenate([grp_b, bg_b])
    forward = rank[free_a] < rank[free_b]
    src = np.concatenate([circ_src, chain_src, np.where(forward, free_a, free_b)])
    dst = np.concatenate([circ_dst, chain_dst, np.where(forward, free_b, free_a)])
    planted = np.arange(len(src)) < n_planted

    keep = src != dst
    src, dst, planted = src[keep], dst[keep], planted[keep]
    _, first = np.unique(src * n + dst, return_index=True)  # sorted by (guarantor, borrower)
    src, dst, planted = src[first], dst[first], planted[first]

    m = len(src)
    start = -rng.integers(30, 1096, size=m)
    end = start + rng.integers(365, 1826, size=m)
    end = np.where(planted, np.maximum(end, 200 + rng.integers(0, 600, size=m)), end)
    amount = np.maximum(np.round(total_assets[dst] * rng.uniform(0.03, 0.3, size=m), -3), 1000.0)
    return Guarantees(
        guarantor=src,
        borrower=dst,
        amount=amount,
        start_day=start.astype(np.int64),
        end_day=end.astype(np.int64),
        circles=circles,
        chains=chains,
    )


def _plant(
    n: int,
    region: np.ndarray,
    rank: np.ndarray,
    circle_rate: float,
    chain_rate: float,
    rng: np.random.Generator,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Disjoint node sets for circles (region-sorted) and chains (rank-sorted)."""
    n_circles = max(5, round(circle_rate * n))
    n_chains = max(2, round(chain_rate * n))
    lengths = np.concatenate(
        [_CIRCLE_LENGTHS, rng.choice(_CIRCLE_LENGTHS, size=n_circles - 5, p=_CIRCLE_PROBS)]
    )
    depths = np.concatenate([[5, 15], rng.integers(5, 16, size=n_chains - 2)])
    needed = int(lengths.sum() + (depths + 1).sum())
    if needed > n // 2:
        raise ValueError(
            f"circle_rate/chain_rate need {needed} distinct companies for planted guarantee"
            f" structures but only {n // 2} (half of {n}) may be used"
        )
    nodes = rng.permutation(n)[:needed].astype(np.int64)
    n_circle_nodes = int(lengths.sum())
    circle_nodes = nodes[:n_circle_nodes]
    circle_nodes = circle_nodes[np.argsort(region[circle_nodes], kind="stable")]
    # shuffle which length goes where, so long circles are not tied to one region
    lengths = rng.permutation(lengths)
    circles = np.split(circle_nodes, np.cumsum(lengths)[:-1])
    chain_parts = np.split(nodes[n_circle_nodes:], np.cumsum(depths + 1)[:-1])
    chains = [part[np.argsort(rank[part])] for part in chain_parts]
    return circles, chains
