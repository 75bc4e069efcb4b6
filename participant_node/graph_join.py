"""Join the association's published graph-feature table to a member's own rows, locally.

The association publishes one table keyed by ``company_id`` (``fedcredit graph features``,
columns in ``graph_risk.features.FEATURE_COLUMNS``). A member downloads the *whole* table and
joins it to its customers on its own machine, so its lookups reveal nothing about who its
customers are. Companies absent from the table (not in the registry) get missing values, which
the data contract imputes like any other gap (with a missing indicator).

Example
-------
>>> import pandas as pd
>>> rows = pd.DataFrame({"company_id": ["A", "B"], "x": [1.0, 2.0]})
>>> table = pd.DataFrame({"company_id": ["A"], "contagion_score": [0.4]})
>>> join_graph_features(rows, table, columns=("contagion_score",))["contagion_score"].tolist()
[0.4, nan]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from graph_risk.features import FEATURE_COLUMNS

GRAPH_FEATURES: tuple[str, ...] = tuple(c for c in FEATURE_COLUMNS if c != "company_id")


def read_feature_table(path: str | Path, columns: Sequence[str] = GRAPH_FEATURES) -> pd.DataFrame:
    """Read a published feature table (.parquet or .csv) and check it.

    Raises
    ------
    ValueError
        Naming the file and the rule: missing ``company_id`` or feature columns, duplicate
        company ids, non-numeric feature values.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no graph feature table")
    if p.suffix == ".parquet":
        table = pd.read_parquet(p)
    elif p.suffix == ".csv":
        table = pd.read_csv(p, dtype={"company_id": str})
    else:
        raise ValueError(f"{p}: graph feature table must be .parquet or .csv")
    return check_feature_table(table, columns, source=str(p))


def check_feature_table(
    table: pd.DataFrame, columns: Sequence[str] = GRAPH_FEATURES, *, source: str = "<table>"
) -> pd.DataFrame:
    """Validate an in-memory feature table (see :func:`read_feature_table`)."""
    missing = [c for c in ("company_id", *columns) if c not in table.columns]
    if missing:
        raise ValueError(f"{source}: graph feature table lacks columns {missing}")
    ids = table["company_id"].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise ValueError(
            f"{source}: company_id {dup.iloc[0]!r} appears more than once (row "
            f"{int(dup.index[0]) + 1}); rule: one row per company"
        )
    out = table[["company_id", *columns]].copy()
    out["company_id"] = ids
    for c in columns:
        values = pd.to_numeric(out[c], errors="coerce")
        bad = values.isna() & out[c].notna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise ValueError(
                f"{source}: row {row + 1}, column {c}: value {out[c].iloc[row]!r} is not numeric"
            )
        out[c] = values.astype("float64")
    return out


def join_graph_features(
    rows: pd.DataFrame,
    table: pd.DataFrame,
    *,
    id_column: str = "company_id",
    columns: Sequence[str] = GRAPH_FEATURES,
) -> pd.DataFrame:
    """Left-join ``table``'s feature ``columns`` onto ``rows`` by company id (row order kept).

    Raises
    ------
    ValueError
        When ``rows`` has no ``id_column`` or already has a column of the same name.
    """
    if id_column not in rows.columns:
        raise ValueError(f"graph features join on {id_column!r}, which the member data lacks")
    clash = [c for c in columns if c in rows.columns]
    if clash:
        raise ValueError(f"member data already has graph feature columns {clash}")
    lookup = table.set_index("company_id")[list(columns)]
    joined = lookup.reindex(rows[id_column].astype(str).to_numpy())
    joined.index = rows.index
    return pd.concat([rows, joined], axis=1)
