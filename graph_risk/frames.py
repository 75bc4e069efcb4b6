"""The relationship graph as five tables: the exchange format between ingest, backends and
algorithms.

The CSV files written by ``fedcredit sim generate`` (and by any alliance that exports its
registry data) have exactly these columns. Optional columns may be absent; required ones may
not.

========================  ===================================================================
table                     columns (required; *optional*)
========================  ===================================================================
``companies``             company_id, name, industry, region, registered_capital, total_assets,
                          net_assets, founded_year; *legal_rep_id, address, phone*
``persons``               person_id, name
``shareholdings``         holder_id, holder_type (``person`` | ``company``), company_id, share
                          (0 < share <= 1; per company the shares sum to <= 1)
``guarantees``            guarantor_id, borrower_id, amount, start_date, end_date
                          (guarantor guarantees the borrower's debt; dates ISO ``YYYY-MM-DD``)
``defaults``              company_id, default_date (observed defaults before the scoring date)
========================  ===================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

COMPANY_COLUMNS: tuple[str, ...] = (
    "company_id",
    "name",
    "industry",
    "region",
    "registered_capital",
    "total_assets",
    "net_assets",
    "founded_year",
)
COMPANY_OPTIONAL_COLUMNS: tuple[str, ...] = ("legal_rep_id", "address", "phone")
PERSON_COLUMNS: tuple[str, ...] = ("person_id", "name")
SHAREHOLDING_COLUMNS: tuple[str, ...] = ("holder_id", "holder_type", "company_id", "share")
GUARANTEE_COLUMNS: tuple[str, ...] = (
    "guarantor_id",
    "borrower_id",
    "amount",
    "start_date",
    "end_date",
)
DEFAULT_COLUMNS: tuple[str, ...] = ("company_id", "default_date")

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "companies": COMPANY_COLUMNS,
    "persons": PERSON_COLUMNS,
    "shareholdings": SHAREHOLDING_COLUMNS,
    "guarantees": GUARANTEE_COLUMNS,
    "defaults": DEFAULT_COLUMNS,
}
HOLDER_TYPES: tuple[str, ...] = ("person", "company")


def empty_table(name: str) -> pd.DataFrame:
    """An empty DataFrame with the required columns of table ``name``."""
    if name not in TABLE_COLUMNS:
        raise ValueError(f"unknown graph table {name!r}; expected one of {sorted(TABLE_COLUMNS)}")
    return pd.DataFrame({c: pd.Series(dtype="object") for c in TABLE_COLUMNS[name]})


@dataclass(frozen=True)
class GraphFrames:
    """The five tables of the relationship graph (see module docstring for columns).

    Identifiers are strings. ``share`` and ``amount`` are floats; dates are ISO strings.
    """

    companies: pd.DataFrame
    persons: pd.DataFrame
    shareholdings: pd.DataFrame
    guarantees: pd.DataFrame
    defaults: pd.DataFrame

    @classmethod
    def empty(cls) -> GraphFrames:
        """A graph with no rows."""
        return cls(**{name: empty_table(name) for name in TABLE_COLUMNS})

    def table(self, name: str) -> pd.DataFrame:
        """Return table ``name`` (one of ``TABLE_COLUMNS``)."""
        if name not in TABLE_COLUMNS:
            raise ValueError(
                f"unknown graph table {name!r}; expected one of {sorted(TABLE_COLUMNS)}"
            )
        frame: pd.DataFrame = getattr(self, name)
        return frame
