"""The design promise: own features give a fair model, graph features add materially to it.

Graph features are computed only from the written registry tables (as a feature pipeline
would): guarantee-cycle membership, defaulted borrowers a company guarantees, defaulted
guarantors, and defaults among companies under the same majority-chain controller.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from graph_risk.frames import GraphFrames
from simulations.consortium import INDICATORS, ConsortiumConfig, generate_consortium

SKEWED = (
    "days_past_due_avg",
    "longest_overdue_days",
    "overdue_count_12m",
    "receivable_turnover_days",
    "order_volume_12m",
    "interest_coverage",
    "relationship_months",
    "orders_per_month",
)


def _controllers(g: GraphFrames) -> pd.Series:
    """Ultimate controller of every company by following > 50 % holders upward."""
    sh = g.shareholdings
    up = sh[sh["share"] > 0.5].set_index("company_id")["holder_id"]
    current = g.companies["company_id"].copy()
    for _ in range(64):
        nxt = current.map(up)
        moved = nxt.notna()
        if not moved.any():
            break
        current = current.where(~moved, nxt)
    return pd.Series(current.to_numpy(), index=g.companies["company_id"].to_numpy())


def graph_features(g: GraphFrames) -> pd.DataFrame:
    ids = g.companies["company_id"].to_numpy()
    index = pd.Index(ids)
    n = len(ids)
    src = index.get_indexer(g.guarantees["guarantor_id"])
    dst = index.get_indexer(g.guarantees["borrower_id"])
    adj = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n)).tocsr()
    _, comp = connected_components(adj, directed=True, connection="strong")
    on_cycle = np.bincount(comp)[comp] >= 2
    defaulted = index.isin(g.defaults["company_id"]).astype(float)
    controller = _controllers(g)
    group_defaults = pd.Series(defaulted, index=ids).groupby(controller).transform("sum")
    return pd.DataFrame(
        {
            "on_cycle": on_cycle.astype(float),
            "defaulted_borrowers": np.log1p(np.bincount(src, defaulted[dst], minlength=n)),
            "defaulted_guarantors": np.log1p(np.bincount(dst, defaulted[src], minlength=n)),
            "related_defaults": np.log1p(group_defaults.to_numpy() - defaulted),
        },
        index=ids,
    )


def _auc(x: pd.DataFrame, y: np.ndarray, test: np.ndarray) -> float:
    scaler = StandardScaler().fit(x[~test])
    model = LogisticRegression(max_iter=2_000).fit(scaler.transform(x[~test]), y[~test])
    return float(roc_auc_score(y[test], model.predict_proba(scaler.transform(x[test]))[:, 1]))


@pytest.mark.slow
def test_graph_features_raise_auc_by_at_least_three_points() -> None:
    # Prepare: 20k companies, 5 members, one row per company
    cons = generate_consortium(ConsortiumConfig(n_companies=20_000, n_members=5, seed=0))
    rows = pd.concat(cons.members.values()).drop_duplicates("company_id")
    own = rows[list(INDICATORS)].copy()
    own[list(SKEWED)] = np.log1p(own[list(SKEWED)])
    own = own.fillna(own.median())
    own = pd.concat([own, pd.get_dummies(rows[["industry", "region"]], dtype=float)], axis=1)
    graph = graph_features(cons.graph).loc[rows["company_id"]].set_index(own.index)
    y = rows["default_6m"].to_numpy()
    test = np.random.default_rng(0).random(len(y)) < 0.3
    # Execute
    auc_own = _auc(own, y, test)
    auc_all = _auc(pd.concat([own, graph], axis=1), y, test)
    # Assert
    assert 0.68 <= auc_own <= 0.82
    assert auc_all - auc_own >= 0.03
