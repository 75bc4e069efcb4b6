"""What a member knows about the relationship graph when it scores, and the evidence it gives.

A member has two sources (choice documented in the README, "Scoring your customers"):

1. the association's published **graph-feature table** (one row per company; joined as model
   inputs, and read here for ``in_guarantee_circle`` and ``related_party_default_count``);
2. optionally the **registry tables** the association publishes with it -- ``companies``,
   ``guarantees`` and ``defaults`` (``graph_risk.frames`` columns) -- or any object satisfying
   :class:`RelationshipView` (e.g. a client of the risk-team graph API). Only these give
   exposures for the contagion overlay and evidence chains for reason codes.

``participant_node`` may import only ``graph_risk.features`` from the graph package, so the
view below walks the guarantee table itself (a small BFS per company; the association's
``graph_risk.algorithms.exposure`` does the same at scale).

Exposure share of guarantor ``g`` on borrower ``b``: ``min(1, amount(g -> b) / net_assets(g))``,
1 when net assets are <= 0 or unknown -- the impact weight of DebtRank used by the feature
table's ``contagion_score`` (Battiston et al. 2012, "DebtRank", Sci. Rep. 2:541).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class DefaultChain:
    """A guarantee chain from the scored company to a defaulted company ``path[-1]``."""

    path: tuple[str, ...]
    default_date: str

    def text(self) -> str:
        """``guarantees X, which defaulted on D, via chain A -> B -> X``."""
        target = self.path[-1]
        if len(self.path) == 2:
            return f"guarantees {target}, which defaulted on {self.default_date}"
        return (
            f"guarantees {target} indirectly, which defaulted on {self.default_date}, via "
            f"chain {' -> '.join(self.path)}"
        )


@runtime_checkable
class RelationshipView(Protocol):
    """The graph questions the scorer asks (any backend or API client may answer them)."""

    def exposures(self, company_id: str) -> Sequence[tuple[str, float]]:
        """Borrowers whose debt ``company_id`` guarantees, with the exposure share in (0, 1]."""
        ...

    def default_date(self, company_id: str) -> str | None:
        """ISO date of the company's observed default, ``None`` when it has not defaulted."""
        ...

    def default_chains(self, company_id: str, hops: int) -> Sequence[DefaultChain]:
        """Shortest guarantee chains of 1..hops edges to defaulted companies."""
        ...


class RegistryGraph:
    """:class:`RelationshipView` over the published ``companies``/``guarantees``/``defaults``.

    Parameters
    ----------
    guarantees : DataFrame
        ``guarantor_id, borrower_id, amount`` (``start_date, end_date`` used with ``at_date``).
    defaults : DataFrame
        ``company_id, default_date``.
    companies : DataFrame, optional
        ``company_id, net_assets`` for exposure shares (otherwise every share is 1).
    at_date : str, optional
        Keep guarantees active on that date and defaults dated on or before it.
    """

    def __init__(
        self,
        guarantees: pd.DataFrame,
        defaults: pd.DataFrame,
        companies: pd.DataFrame | None = None,
        *,
        at_date: str | None = None,
    ) -> None:
        for name, frame, cols in (
            ("guarantees", guarantees, ("guarantor_id", "borrower_id", "amount")),
            ("defaults", defaults, ("company_id", "default_date")),
        ):
            missing = [c for c in cols if c not in frame.columns]
            if missing:
                raise ValueError(f"registry table {name} lacks columns {missing}")
        g = guarantees
        d = defaults
        if at_date is not None:
            if {"start_date", "end_date"} <= set(g.columns):
                g = g[
                    (g["start_date"].astype(str) <= at_date)
                    & (g["end_date"].astype(str) >= at_date)
                ]
            d = d[d["default_date"].astype(str) <= at_date]
        assets: dict[str, float] = {}
        if companies is not None and "net_assets" in companies.columns:
            assets = dict(
                zip(companies["company_id"].astype(str), companies["net_assets"].astype(float),
                    strict=True)
            )  # fmt: skip
        amount = g["amount"].astype(float).to_numpy()
        guarantor = g["guarantor_id"].astype(str).to_numpy()
        na = np.array([assets.get(x, np.nan) for x in guarantor], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(na > 0, np.minimum(1.0, amount / na), 1.0)
        share = np.where(share > 0, share, 1.0)
        self._out: dict[str, dict[str, float]] = {}
        for src, dst, s in zip(guarantor, g["borrower_id"].astype(str).to_numpy(), share,
                               strict=True):  # fmt: skip
            row = self._out.setdefault(src, {})
            row[dst] = min(1.0, row.get(dst, 0.0) + float(s))
        self._defaults = dict(
            zip(d["company_id"].astype(str), d["default_date"].astype(str), strict=True)
        )

    @classmethod
    def from_dir(cls, directory: str | Path, *, at_date: str | None = None) -> RegistryGraph:
        """Read ``guarantees.csv``, ``defaults.csv`` and (if present) ``companies.csv``."""
        d = Path(directory)
        for name in ("guarantees.csv", "defaults.csv"):
            if not (d / name).is_file():
                raise FileNotFoundError(f"{d / name}: registry table missing")
        ids = {"guarantor_id": str, "borrower_id": str, "company_id": str}
        companies = None
        if (d / "companies.csv").is_file():
            companies = pd.read_csv(d / "companies.csv", usecols=["company_id", "net_assets"],
                                    dtype={"company_id": str})  # fmt: skip
        return cls(
            pd.read_csv(d / "guarantees.csv", dtype=ids),
            pd.read_csv(d / "defaults.csv", dtype=ids),
            companies,
            at_date=at_date,
        )

    def exposures(self, company_id: str) -> Sequence[tuple[str, float]]:
        """See :class:`RelationshipView`."""
        return list(self._out.get(company_id, {}).items())

    def default_date(self, company_id: str) -> str | None:
        """See :class:`RelationshipView`."""
        return self._defaults.get(company_id)

    def default_chains(self, company_id: str, hops: int) -> Sequence[DefaultChain]:
        """BFS along guarantees given; one shortest chain per defaulted company reached.

        O(edges within ``hops``) per call.
        """
        if not 1 <= hops <= 4:
            raise ValueError(f"hops must be in [1, 4]; got {hops}")
        parent: dict[str, str] = {company_id: ""}
        frontier = deque([(company_id, 0)])
        chains = []
        while frontier:
            node, depth = frontier.popleft()
            if depth == hops:
                continue
            for nxt in self._out.get(node, {}):
                if nxt in parent:
                    continue
                parent[nxt] = node
                frontier.append((nxt, depth + 1))
                date = self._defaults.get(nxt)
                if date is not None:
                    path = [nxt]
                    while parent[path[-1]]:
                        path.append(parent[path[-1]])
                    chains.append(DefaultChain(tuple(reversed(path)), date))
        return chains
