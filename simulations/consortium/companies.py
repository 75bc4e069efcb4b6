"""Company attributes, latent risk drivers and registry strings (name, address, phone).

Latent drivers of company ``i`` (all standard normal unless stated)::

    z_fin_i                      financial weakness (leverage up, liquidity and ROA down)
    z_beh_i = 0.5 z_fin_i + 0.866 e_i   payment-behaviour weakness (late payments)
    z_gro_i                      growth (orders and revenue up)
    eps_i                        idiosyncratic, never observed by anyone
    o_k                          outlook of industry k; rho_r a small regional effect
    s_i = standardised log total assets; a_i = age in years

    own risk  r_i = 0.55 z_fin + 0.65 z_beh - 0.35 z_gro - 0.35 o_k(i) + rho_r(i)
                    - 0.25 s_i - 0.2 log(a_i / 10) + 0.25 eps_i

Group companies share the group's home region (70 %) and main industry (50 %).

Complexity: O(n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulations.consortium.config import INDUSTRIES, INDUSTRY_WEIGHTS, REGION_WEIGHTS, REGIONS
from simulations.consortium.ownership import Groups


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_BRAND = _words(
    "Hua Xin Tai Feng Long Sheng Heng Da Jin Rui Kang Yuan Fu Tian Hong Mei Xing Ding Bao Cheng"
    " An Jia Ming Hai Guo Yi Zhong Wei Lian Tong"
)
_ROADS = _words("Renmin Jiefang Zhongshan Jianshe Xinhua Heping Dongfeng Changjiang Huanghe Youyi")
_SURNAMES = _words(
    "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Gao Lin Luo"
    " Zheng Liang Xie Song Tang Han Feng Deng Cao Peng"
)
_GIVEN = _words(
    "Wei Fang Na Min Jing Li Qiang Lei Jun Yang Yong Yan Jie Juan Tao Ming Chao Xiu Xia Hui"
    " Ping Gang Hua Bin Yu Hong Lan Dan Feng Ning"
)
_AREA = ("025", "0571", "020", "0531", "0371", "028", "027", "0591", "0311", "0731")
EPS_SCALE = 0.25  # weight of the never-observed idiosyncratic driver in own risk
_INDUSTRY_TITLE = {name: name.replace("_", " ").title() for name in INDUSTRIES}


@dataclass(frozen=True)
class CompanyData:
    """Per-company arrays (index ``i`` is company ``i``)."""

    region: np.ndarray  # int64 index into REGIONS
    industry: np.ndarray  # int64 index into INDUSTRIES
    age: np.ndarray  # float64 years
    founded_year: np.ndarray  # int64
    total_assets: np.ndarray  # float64
    leverage: np.ndarray  # float64 true debt / assets in (0, 1)
    registered_capital: np.ndarray  # float64
    z_fin: np.ndarray
    z_beh: np.ndarray
    z_gro: np.ndarray
    size_z: np.ndarray
    outlook: np.ndarray  # float64[len(INDUSTRIES)]
    own_risk: np.ndarray  # r_i of the module docstring


def make_companies(
    n: int, groups: Groups, scoring_year: int, rng: np.random.Generator
) -> CompanyData:
    """Draw attributes and latent drivers of ``n`` companies (see module docstring).

    >>> from simulations.consortium.ownership import plan_groups
    >>> r = np.random.default_rng(0)
    >>> c = make_companies(200, plan_groups(200, 0.3, r), 2026, r)
    >>> c.own_risk.shape, bool((c.leverage > 0).all() and (c.leverage < 1).all())
    ((200,), True)
    """
    region = rng.choice(len(REGIONS), size=n, p=_norm(REGION_WEIGHTS)).astype(np.int64)
    industry = rng.choice(len(INDUSTRIES), size=n, p=_norm(INDUSTRY_WEIGHTS)).astype(np.int64)
    if groups.n_groups:
        g_region = rng.choice(len(REGIONS), size=groups.n_groups, p=_norm(REGION_WEIGHTS))
        g_industry = rng.choice(len(INDUSTRIES), size=groups.n_groups, p=_norm(INDUSTRY_WEIGHTS))
        gi = np.flatnonzero(groups.group_of >= 0)
        g = groups.group_of[gi]
        take_r = rng.random(len(gi)) < 0.7
        take_i = rng.random(len(gi)) < 0.5
        region[gi[take_r]] = g_region[g[take_r]]
        industry[gi[take_i]] = g_industry[g[take_i]]

    outlook = rng.normal(0.0, 1.0, size=len(INDUSTRIES))
    region_eff = rng.normal(0.0, 0.15, size=len(REGIONS))
    age = np.clip(rng.exponential(11.0, size=n), 1.0, 40.0)
    founded_year = (scoring_year - np.floor(age)).astype(np.int64)

    z_fin = rng.standard_normal(n)
    z_beh = 0.5 * z_fin + np.sqrt(0.75) * rng.standard_normal(n)
    z_gro = rng.standard_normal(n)
    eps = rng.standard_normal(n)
    industry_scale = rng.normal(15.5, 0.5, size=len(INDUSTRIES))
    log_ta = industry_scale[industry] + 1.2 * rng.standard_normal(n) + 0.08 * np.minimum(age, 25)
    holding = groups.pos == 0
    log_ta[holding] += 1.0
    size_z = (log_ta - log_ta.mean()) / log_ta.std()
    total_assets = np.round(np.exp(log_ta), -3)
    leverage = 1.0 / (1.0 + np.exp(-(0.2 + 0.8 * z_fin + 0.3 * rng.standard_normal(n))))
    leverage = np.clip(leverage, 0.02, 0.98)
    registered_capital = np.round(total_assets * rng.uniform(0.05, 0.4, size=n), -3)

    own_risk = (
        0.55 * z_fin
        + 0.65 * z_beh
        - 0.35 * z_gro
        - 0.35 * outlook[industry]
        + region_eff[region]
        - 0.25 * size_z
        - 0.2 * np.log(age / 10.0)
        + EPS_SCALE * eps
    )
    return CompanyData(
        region=region,
        industry=industry,
        age=age,
        founded_year=founded_year,
        total_assets=total_assets,
        leverage=leverage,
        registered_capital=registered_capital,
        z_fin=z_fin,
        z_beh=z_beh,
        z_gro=z_gro,
        size_z=size_z,
        outlook=outlook,
        own_risk=own_risk,
    )


def _norm(weights: tuple[float, ...]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return w / w.sum()


def format_ids(prefix: str, index: np.ndarray, total: int) -> np.ndarray:
    """Zero-padded string ids ``prefix + (index + 1)`` with a width that fits ``total``.

    >>> format_ids("C", np.array([0, 41]), 500).tolist()
    ['C000001', 'C000042']
    """
    width = max(6, len(str(total)))
    digits = pd.Series(np.asarray(index, dtype=np.int64) + 1).astype(str).str.zfill(width)
    return (prefix + digits).to_numpy(dtype=object)


def registry_strings(
    data: CompanyData, groups: Groups, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Names, addresses and phone numbers of all companies.

    Group members share the group's address (60 %) and phone (30 %); about 3 % of standalone
    companies use a registered agent's address and phone, shared with unrelated firms.
    Unshared addresses and phones are unique (a bijection of the company index).
    """
    n = len(data.region)
    pick = rng.integers(0, len(_BRAND), size=(n, 2))
    brand = np.asarray(_BRAND, dtype=object)
    region_name = np.asarray(REGIONS, dtype=object)[data.region]
    title = np.asarray([_INDUSTRY_TITLE[i] for i in INDUSTRIES], dtype=object)[data.industry]
    name = region_name + " " + brand[pick[:, 0]] + brand[pick[:, 1]] + " " + title + " Co., Ltd."

    key = np.arange(n, dtype=np.int64)
    phone_key = key.copy()
    in_group = groups.group_of >= 0
    shared_addr = in_group & (rng.random(n) < 0.6)
    shared_phone = in_group & (rng.random(n) < 0.3)
    key[shared_addr] = n + groups.group_of[shared_addr]
    phone_key[shared_phone] = n + groups.group_of[shared_phone]
    n_agents = max(2, n // 1000)
    agent = ~in_group & (rng.random(n) < 0.03)
    agent_id = 2 * n + rng.integers(0, n_agents, size=int(agent.sum()))
    key[agent] = agent_id
    phone_key[agent] = agent_id

    # a shared address/phone lies in one region: the group's holding company's, or the agent's
    addr_region = data.region.copy()
    phone_region = data.region.copy()
    holding_region = data.region[groups.members[groups.offsets[:-1]]]
    addr_region[shared_addr] = holding_region[groups.group_of[shared_addr]]
    phone_region[shared_phone] = holding_region[groups.group_of[shared_phone]]
    addr_region[agent] = agent_id % len(REGIONS)
    phone_region[agent] = agent_id % len(REGIONS)

    road = np.asarray(_ROADS, dtype=object)[(key * 7) % len(_ROADS)]
    room = pd.Series(key % 1000 + 101).astype(str).to_numpy(dtype=object)
    building = pd.Series(key // 1000 + 1).astype(str).to_numpy(dtype=object)
    address = "Room " + room + ", Building " + building + ", " + road + " Road, "
    address = address + np.asarray(REGIONS, dtype=object)[addr_region]
    digits = (phone_key * 7919 + 12_345_678) % 100_000_000
    area = np.asarray(_AREA, dtype=object)[phone_region]
    phone = area + "-" + pd.Series(digits).astype(str).str.zfill(8).to_numpy(dtype=object)
    return {"name": name, "address": address, "phone": phone}


def person_names(count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` pinyin names ``Surname Given`` (given names of one or two syllables).

    >>> person_names(2, np.random.default_rng(0)).shape
    (2,)
    """
    surname = np.asarray(_SURNAMES, dtype=object)[rng.integers(0, len(_SURNAMES), size=count)]
    given = np.asarray(_GIVEN, dtype=object)[rng.integers(0, len(_GIVEN), size=(count, 2))]
    two = rng.random(count) < 0.6
    given_name = np.where(two, given[:, 0] + given[:, 1], given[:, 0])
    out: np.ndarray = surname + " " + given_name
    return out
