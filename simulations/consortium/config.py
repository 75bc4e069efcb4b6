"""Configuration, result containers and random streams of the consortium generator.

``ConsortiumConfig`` validates its fields in the constructor and names the rule it enforces;
``Consortium`` is what :func:`simulations.consortium.generator.generate_consortium` returns and
:func:`simulations.consortium.writer.write_consortium` writes.

Example
-------
>>> cfg = ConsortiumConfig(n_companies=1_000, n_members=3, seed=7)
>>> cfg.member_ids
('m01', 'm02', 'm03')
>>> ConsortiumConfig(n_members=1)
Traceback (most recent call last):
...
ValueError: members must be >= 2; got 1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TypedDict

import numpy as np
import pandas as pd

from graph_risk.frames import GraphFrames

MIN_COMPANIES = 100
MAX_MEMBERS = 99

REGIONS: tuple[str, ...] = (
    "Jiangsu",
    "Zhejiang",
    "Guangdong",
    "Shandong",
    "Henan",
    "Sichuan",
    "Hubei",
    "Fujian",
    "Hebei",
    "Hunan",
)
REGION_WEIGHTS: tuple[float, ...] = (0.16, 0.15, 0.17, 0.11, 0.08, 0.07, 0.07, 0.07, 0.06, 0.06)
INDUSTRIES: tuple[str, ...] = (
    "manufacturing",
    "construction",
    "wholesale",
    "retail",
    "transport",
    "agriculture",
    "real_estate",
    "mining",
    "textiles",
    "chemicals",
    "electronics",
    "food_processing",
)
INDUSTRY_WEIGHTS: tuple[float, ...] = (
    0.18,
    0.10,
    0.12,
    0.10,
    0.07,
    0.05,
    0.06,
    0.03,
    0.08,
    0.07,
    0.08,
    0.06,
)

# Stages, in the order the generator runs them (also the CLI's progress tasks); "tables"
# turns the arrays into the string-keyed graph tables.
STAGES: tuple[str, ...] = ("companies", "ownership", "guarantees", "labels", "members", "tables")


@dataclass(frozen=True)
class ConsortiumConfig:
    """Everything that determines a synthetic consortium (same config -> same bytes on disk).

    Parameters
    ----------
    n_companies
        Companies in the registry (>= 100).
    n_members
        Lenders in the alliance (2..99); ids ``m01``, ``m02``, ...
    seed
        Root seed (>= 0) of every random stream.
    scoring_date
        Observed defaults lie before it; the label is default within 6 months after it.
    default_rate
        Target share of scored (not yet defaulted) companies with ``default_6m = 1``.
    history_default_rate
        Target share of companies already defaulted before the scoring date.
    graph_effect
        Multiplier of every graph term of the label model (0 makes labels ignore the graph).
    group_fraction
        Share of companies that belong to a controller group of size >= 2.
    circle_rate, chain_rate, cross_holding_rate
        Planted guarantee circles, guarantee chains and cross-holding cycles per company.
    member_size_ratio
        Largest member's primary customers / smallest member's (>= 1).
    multi_member_fraction
        Share of scored companies that are customers of a second member.
    missing_rate
        Mean share of missing values in the members' financial ratios (0 <= rate < 0.5).
    """

    n_companies: int = 20_000
    n_members: int = 5
    seed: int = 0
    scoring_date: date = date(2026, 6, 30)
    default_rate: float = 0.07
    history_default_rate: float = 0.05
    graph_effect: float = 1.0
    group_fraction: float = 0.35
    circle_rate: float = 0.01
    chain_rate: float = 0.002
    cross_holding_rate: float = 0.003
    member_size_ratio: float = 20.0
    multi_member_fraction: float = 0.15
    missing_rate: float = 0.02

    def __post_init__(self) -> None:
        _check_int("companies", self.n_companies, MIN_COMPANIES, None)
        _check_int("members", self.n_members, 2, MAX_MEMBERS)
        _check_int("seed", self.seed, 0, None)
        if not isinstance(self.scoring_date, date):
            raise ValueError(f"scoring_date must be a datetime.date; got {self.scoring_date!r}")
        _check_open("default_rate", self.default_rate, 0.0, 0.5)
        _check_open("history_default_rate", self.history_default_rate, 0.0, 0.5)
        if not 0.0 <= self.graph_effect <= 5.0:
            raise ValueError(f"graph_effect must be in [0, 5]; got {self.graph_effect}")
        _check_open("group_fraction", self.group_fraction, 0.0, 0.9)
        for name in ("circle_rate", "chain_rate", "cross_holding_rate"):
            _check_open(name, getattr(self, name), 0.0, 0.05)
        if not self.member_size_ratio >= 1.0:
            raise ValueError(f"member_size_ratio must be >= 1; got {self.member_size_ratio}")
        if not 0.0 <= self.multi_member_fraction < 0.9:
            raise ValueError(
                f"multi_member_fraction must be in [0, 0.9); got {self.multi_member_fraction}"
            )
        if not 0.0 <= self.missing_rate < 0.5:
            raise ValueError(f"missing_rate must be in [0, 0.5); got {self.missing_rate}")
        ranks = np.arange(self.n_members) / (self.n_members - 1)
        weights = self.member_size_ratio ** (-ranks)
        smallest = 0.9 * self.n_companies * weights[-1] / weights.sum()
        if smallest < 3:
            raise ValueError(
                f"members: {self.n_members} members with size ratio {self.member_size_ratio:g}"
                f" leave the smallest member about {smallest:.1f} of {self.n_companies}"
                " companies; it needs >= 3 (use fewer members or more companies)"
            )

    @property
    def member_ids(self) -> tuple[str, ...]:
        """Member ids ``m01`` .. ``mK``."""
        return tuple(f"m{k:02d}" for k in range(1, self.n_members + 1))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view of the config (dates as ISO strings)."""
        out: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, date) else value
        return out


def _check_int(name: str, value: int, lo: int, hi: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    if value < lo:
        raise ValueError(f"{name} must be >= {lo}; got {value}")
    if hi is not None and value > hi:
        raise ValueError(f"{name} must be <= {hi}; got {value}")


def _check_open(name: str, value: float, lo: float, hi: float) -> None:
    if not lo < value < hi:
        raise ValueError(f"{name} must be in ({lo:g}, {hi:g}); got {value}")


def streams(seed: int, names: tuple[str, ...]) -> dict[str, np.random.Generator]:
    """Independent PCG64 streams, one per name, all derived from ``seed``.

    Each stage draws from its own stream, so changing how one stage uses randomness never
    shifts another stage's draws.

    >>> a = streams(1, ("x", "y"))["y"].integers(0, 1000)
    >>> b = streams(1, ("x", "y"))["y"].integers(0, 1000)
    >>> bool(a == b)
    True
    """
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(s) for n, s in zip(names, children, strict=True)}


class ControllerGroup(TypedDict):
    """Companies under one actual controller (a person), holding company first."""

    controller_id: str
    holding_company_id: str
    company_ids: list[str]


@dataclass(frozen=True)
class PlantedStructures:
    """Structures the generator planted on purpose (ground truth for tests and experiments).

    All ids are company ids except ``controller`` entries, which are person ids.
    """

    guarantee_circles: list[list[str]] = field(default_factory=list)
    guarantee_chains: list[list[str]] = field(default_factory=list)
    cross_holdings: list[list[str]] = field(default_factory=list)
    controller_groups: list[ControllerGroup] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view."""
        return {
            "guarantee_circles": self.guarantee_circles,
            "guarantee_chains": self.guarantee_chains,
            "cross_holdings": self.cross_holdings,
            "controller_groups": self.controller_groups,
        }


@dataclass(frozen=True)
class Consortium:
    """A generated consortium: the relationship graph, one customer table per member, metadata.

    Parameters
    ----------
    config
        The config it was generated from.
    graph
        Companies, persons, shareholdings, guarantees, observed defaults.
    members
        ``member_id -> customer table`` (``company_id``, ``industry``, ``region``, indicators,
        ``default_6m``).
    planted
        Planted circles, chains, cross-holdings and controller groups.
    model
        Coefficients and calibrated intercepts of the label model.
    """

    config: ConsortiumConfig
    graph: GraphFrames
    members: dict[str, pd.DataFrame]
    planted: PlantedStructures
    model: dict[str, float]

    def counts(self) -> dict[str, int]:
        """Row counts of every table and number of planted structures."""
        g = self.graph
        circles = self.planted.guarantee_circles
        return {
            "companies": len(g.companies),
            "persons": len(g.persons),
            "shareholdings": len(g.shareholdings),
            "guarantees": len(g.guarantees),
            "defaults": len(g.defaults),
            "guarantee_circles": len(circles),
            "mutual_guarantees": sum(1 for c in circles if len(c) == 2),
            "guarantee_chains": len(self.planted.guarantee_chains),
            "cross_holdings": len(self.planted.cross_holdings),
            "controller_groups": len(self.planted.controller_groups),
            "scored_companies": int(
                pd.concat([m["company_id"] for m in self.members.values()]).nunique()
            ),
        }

    def member_stats(self) -> dict[str, dict[str, int]]:
        """Per member: ``rows`` and ``positives`` (``default_6m == 1``)."""
        return {
            mid: {"rows": len(frame), "positives": int(frame["default_6m"].sum())}
            for mid, frame in self.members.items()
        }
