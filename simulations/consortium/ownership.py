"""Controller groups, shareholdings, cross-holdings and legal representatives.

Construction (all vectorised; ``n`` companies, ``G`` groups)
-----------------------------------------------------------
* **Groups.** A share ``group_fraction`` of the companies is split into groups of size
  ``clip(1 + round(exp(N(1, 0.75))), 2, 60)``. Inside a group the members are sorted by index;
  position 0 is the holding company, position ``p >= 1`` hangs under the tree parent
  ``floor(U * p)`` (a random recursive tree, depth ~ ln size), which yields the layered chain
  *person -> holding co -> operating co -> operating co*.
* **Main holder.** The group's actual controller (a person) holds the holding company; every
  other member is held by its tree parent (or, with probability 0.15, directly by the
  controller). Main stakes are >= 51 % so majority chains lead to the controller. A standalone
  company has its own owner (a person): controlling (70 %, stake >= 51 %) or dispersed
  (30 %, stake 20-50 %).
* **Minority holders.** Part of the residual goes to 0-3 minority holders: persons from a
  shared pool, or (15 %) a company with a lower index. Each minority stake is < 50 % and below the
  main stake, so it never confers control.
* **Cross-holdings.** ``cross_holding_rate * n`` disjoint cycles A -> B -> ... -> A of length 2
  (mutual, half of them) or 3-5, each edge a 3-15 % stake reserved before the main stake is
  drawn. Every other company -> company edge points from a lower to a higher index, so the
  lowest-index company of any strongly connected component has a holder outside it: no set of
  companies is ever wholly held inside a cycle (the integrated-ownership matrix stays
  invertible).

Shares are integer basis points (1/10 000) while being built, so per-company sums are exactly
<= 10 000 before they become floats in (0, 1].

Complexity: O(n) time and memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BP = 10_000  # basis points in a whole company


@dataclass(frozen=True)
class Groups:
    """Controller groups as flat arrays (``-1`` marks standalone companies)."""

    group_of: np.ndarray  # int64[n] group index or -1
    pos: np.ndarray  # int64[n] position within the group or -1
    parent: np.ndarray  # int64[n] tree parent company or -1
    members: np.ndarray  # int64[M] companies of all groups, grouped, sorted inside a group
    offsets: np.ndarray  # int64[G + 1] group g is members[offsets[g]:offsets[g + 1]]

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.offsets) - 1


@dataclass(frozen=True)
class Ownership:
    """Shareholding edges plus the people behind the companies.

    ``holder_is_company[e]`` tells whether ``holder[e]`` indexes a company or a person.
    """

    holder: np.ndarray  # int64[E]
    holder_is_company: np.ndarray  # bool[E]
    company: np.ndarray  # int64[E]
    share_bp: np.ndarray  # int64[E] in 1..10000
    controller: np.ndarray  # int64[G] person of each group
    legal_rep: np.ndarray  # int64[n] person
    nominee_rep: np.ndarray  # bool[n]: legal rep is a nominee serving many unrelated firms
    n_persons: int  # person ids are 0..n_persons-1 (not all need be used)
    cross_cycles: list[np.ndarray]  # planted cross-holding cycles (company indices, in order)


def plan_groups(n: int, fraction: float, rng: np.random.Generator) -> Groups:
    """Partition ``round(fraction * n)`` random companies into controller groups.

    >>> g = plan_groups(100, 0.3, np.random.default_rng(0))
    >>> int((g.group_of >= 0).sum()), bool((np.diff(g.offsets) >= 2).all())
    (30, True)
    """
    target = round(fraction * n)
    sizes = _group_sizes(target, rng)
    n_groups = len(sizes)
    offsets = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    chosen = rng.permutation(n)[:target].astype(np.int64)
    gid = np.repeat(np.arange(n_groups, dtype=np.int64), sizes)
    order = np.lexsort((chosen, gid))
    members = chosen[order]
    pos = np.arange(target, dtype=np.int64) - offsets[gid]
    parent_pos = np.floor(rng.random(target) * pos).astype(np.int64)
    parent_members = np.where(pos > 0, members[offsets[gid] + parent_pos], -1)

    group_of = np.full(n, -1, dtype=np.int64)
    group_of[members] = gid
    pos_all = np.full(n, -1, dtype=np.int64)
    pos_all[members] = pos
    parent = np.full(n, -1, dtype=np.int64)
    parent[members] = parent_members
    return Groups(group_of=group_of, pos=pos_all, parent=parent, members=members, offsets=offsets)


def _group_sizes(target: int, rng: np.random.Generator) -> np.ndarray:
    if target < 2:
        return np.zeros(0, dtype=np.int64)
    raw = 1 + np.rint(np.exp(rng.normal(1.0, 0.75, size=target // 2 + 1)))
    sizes = np.clip(raw, 2, 60).astype(np.int64)
    cum = np.cumsum(sizes)
    k = int(np.searchsorted(cum, target)) + 1
    sizes = sizes[:k].copy()
    sizes[-1] -= int(sizes.sum()) - target
    if sizes[-1] < 2:  # fold a leftover singleton into the previous group
        if len(sizes) == 1:
            return np.zeros(0, dtype=np.int64)
        sizes[-2] += sizes[-1]
        sizes = sizes[:-1]
    return sizes


def _cross_cycles(n: int, rate: float, rng: np.random.Generator) -> list[np.ndarray]:
    count = max(2, round(rate * n))
    lengths = np.where(np.arange(count) % 2 == 0, 2, rng.integers(3, 6, size=count))
    needed = int(lengths.sum())
    if needed > n // 4:
        raise ValueError(
            f"cross_holding_rate needs {needed} distinct companies for cross-holding cycles"
            f" but only {n // 4} (a quarter of {n}) may be used"
        )
    nodes = rng.permutation(n)[:needed].astype(np.int64)
    return list(np.split(nodes, np.cumsum(lengths)[:-1]))


def _stakes(lo: float, hi: np.ndarray, full_prob: float, rng: np.random.Generator) -> np.ndarray:
    """Basis-point stakes uniform on [lo, hi], with an atom ``full_prob`` at ``hi``."""
    u = rng.random(len(hi))
    stake = lo + u * (hi - lo)
    stake = np.where(rng.random(len(hi)) < full_prob, hi, stake)
    return np.floor(stake * BP).astype(np.int64)


def make_ownership(
    n: int, groups: Groups, cross_rate: float, rng: np.random.Generator
) -> Ownership:
    """Shareholding edges, controllers and legal representatives for ``n`` companies.

    See the module docstring for the construction. Per company the basis points sum to
    <= 10 000, every stake is >= 1 bp, and there is no (holder, company) duplicate.
    """
    n_groups = groups.n_groups
    in_group = groups.group_of >= 0
    standalone = np.flatnonzero(~in_group)
    # person id ranges
    controllers = np.arange(n_groups, dtype=np.int64)
    managers = n_groups + controllers
    owner_of = np.full(n, -1, dtype=np.int64)
    owner_of[standalone] = 2 * n_groups + np.arange(len(standalone), dtype=np.int64)
    pool_start = 2 * n_groups + len(standalone)
    pool_size = max(10, int(0.3 * n))
    nominee_start = pool_start + pool_size
    n_nominees = max(2, n // 400)
    n_persons = nominee_start + n_nominees

    # cross-holding reservations
    cycles = _cross_cycles(n, cross_rate, rng)
    reserve = np.zeros(n, dtype=np.int64)
    cross_src: list[np.ndarray] = []
    cross_dst: list[np.ndarray] = []
    cross_bp: list[np.ndarray] = []
    for cyc in cycles:
        dst = np.roll(cyc, -1)
        bp = np.floor(rng.uniform(0.03, 0.15, size=len(cyc)) * BP).astype(np.int64)
        reserve[dst] = bp
        cross_src.append(cyc)
        cross_dst.append(dst)
        cross_bp.append(bp)

    # main holder of every company
    main_is_company = np.zeros(n, dtype=bool)
    main_holder = owner_of.copy()
    g = groups.group_of
    top = in_group & (groups.pos == 0)
    main_holder[top] = controllers[g[top]]
    lower = in_group & (groups.pos > 0)
    direct = lower & (rng.random(n) < 0.15)
    via_parent = lower & ~direct
    main_holder[direct] = controllers[g[direct]]
    main_holder[via_parent] = groups.parent[via_parent]
    main_is_company[via_parent] = True

    room = 1.0 - reserve / BP
    controlling = in_group | (rng.random(n) < 0.7)
    main_bp = np.where(
        controlling,
        _stakes(0.51, room, 0.3, rng),
        _stakes(0.20, np.minimum(room, 0.5), 0.0, rng),
    )

    # minority holders: up to three slots per company
    residual = BP - reserve - main_bp
    k = np.where(residual < 200, 0, rng.choice(np.array([0, 0, 0, 0, 1, 1, 2, 3]), size=n))
    k = np.where(~controlling & (residual >= 200), np.maximum(k, 2), k)
    w = rng.exponential(size=(n, 3))
    w[np.arange(3)[None, :] >= k[:, None]] = 0.0
    w_sum = np.where(k > 0, w.sum(axis=1), 1.0)
    frac = w / w_sum[:, None] * rng.uniform(0.75, 1.0, size=(n, 1))
    minority = np.floor(frac * residual[:, None]).astype(np.int64)
    # below 49 % even if merged with a cross-holding stake from the same holder, and below
    # the main stake: a minority holder never gets control
    cap = np.minimum(4_900 - reserve, (main_bp * 95) // 100)
    minority = np.minimum(minority, cap[:, None])
    comp_idx = np.broadcast_to(np.arange(n, dtype=np.int64)[:, None], (n, 3))
    keep = minority >= 50  # minority stakes of at least 0.5 %
    m_company = comp_idx[keep]
    m_bp = minority[keep]
    m_is_company = (rng.random(len(m_company)) < 0.15) & (m_company > 0)
    m_holder = np.where(
        m_is_company,
        np.floor(rng.random(len(m_company)) * m_company).astype(np.int64),
        pool_start + rng.integers(0, pool_size, size=len(m_company)),
    )

    holder = np.concatenate([main_holder, m_holder, *cross_src])
    is_comp = np.concatenate(
        [main_is_company, m_is_company, np.ones(sum(len(c) for c in cross_src), dtype=bool)]
    )
    company = np.concatenate([np.arange(n, dtype=np.int64), m_company, *cross_dst])
    share = np.concatenate([main_bp, m_bp, *cross_bp])
    holder, is_comp, company, share = _merge_duplicates(holder, is_comp, company, share)

    legal_rep, nominee = _legal_reps(
        n, groups, owner_of, controllers, managers, nominee_start, n_nominees, rng
    )
    return Ownership(
        holder=holder,
        holder_is_company=is_comp,
        company=company,
        share_bp=share,
        controller=controllers,
        legal_rep=legal_rep,
        nominee_rep=nominee,
        n_persons=n_persons,
        cross_cycles=cycles,
    )


def _merge_duplicates(
    holder: np.ndarray, is_comp: np.ndarray, company: np.ndarray, share: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum stakes of repeated (holder, company) pairs; sort by (company, type, holder)."""
    order = np.lexsort((holder, is_comp, company))
    holder, is_comp, company, share = holder[order], is_comp[order], company[order], share[order]
    new = np.ones(len(holder), dtype=bool)
    new[1:] = (
        (holder[1:] != holder[:-1]) | (is_comp[1:] != is_comp[:-1]) | (company[1:] != company[:-1])
    )
    starts = np.flatnonzero(new)
    summed = np.add.reduceat(share, starts) if len(starts) else share
    return holder[starts], is_comp[starts], company[starts], summed


def _legal_reps(
    n: int,
    groups: Groups,
    owner_of: np.ndarray,
    controllers: np.ndarray,
    managers: np.ndarray,
    nominee_start: int,
    n_nominees: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Legal representative of every company and whether it is a nominee.

    Group companies are represented by the controller or the group's manager (50 % each);
    standalone companies by their owner. About 2 % of all companies use a nominee who fronts
    many unrelated firms, a classic shell-company signal.
    """
    g = groups.group_of
    in_group = g >= 0
    u = rng.random(n)
    rep = owner_of.copy()
    gi = np.flatnonzero(in_group)
    rep[gi] = np.where(u[gi] < 0.5, controllers[g[gi]], managers[g[gi]])
    nominee = rng.random(n) < 0.02
    rep[nominee] = nominee_start + rng.integers(0, n_nominees, size=int(nominee.sum()))
    return rep, nominee
