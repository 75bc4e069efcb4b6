"""Federated evaluation from summed label-split histograms vs pooled scikit-learn metrics."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp
from sklearn.metrics import brier_score_loss, roc_auc_score

from participant_node.metrics import (
    HistogramMetrics,
    auc_from_histograms,
    pack_histograms,
    score_histograms,
    unpack_histograms,
)


def test_tiny_hand_checked_auc() -> None:
    # pairs (pos, neg): 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 -> 3 of 4
    pos, neg = score_histograms(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]), 4096)
    assert auc_from_histograms(pos, neg) == 0.75


def test_same_bin_counts_as_tie() -> None:
    pos, neg = score_histograms(np.array([0.5, 0.5]), np.array([1, 0]), 64)
    assert auc_from_histograms(pos, neg) == 0.5


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(1, 8), rate=st.floats(0.02, 0.5))
def test_sum_of_member_histograms_matches_pooled_metrics(
    seed: int, members: int, rate: float
) -> None:
    # Prepare: skewed, realistic PD scores split across members
    rng = np.random.default_rng(seed)
    n = 3000
    y = (rng.random(n) < rate).astype(int)
    if y.sum() == 0 or y.sum() == n:
        y[0], y[1] = 1, 0
    logit = rng.normal(-3, 1.2, n) + 1.5 * y
    scores = 1 / (1 + np.exp(-logit))
    owner = rng.integers(0, members, n)
    # Execute: each member bins its own rows; the coordinator sums
    pos = np.zeros(4096, dtype=np.int64)
    neg = np.zeros(4096, dtype=np.int64)
    for m in range(members):
        p, q = score_histograms(scores[owner == m], y[owner == m], 4096)
        pos += p
        neg += q
    got = HistogramMetrics.from_histograms(pos, neg)
    # Assert: within 0.002 of the pooled values
    assert abs(got.auc - roc_auc_score(y, scores)) <= 0.002
    assert abs(got.ks - ks_2samp(scores[y == 1], scores[y == 0]).statistic) <= 0.01
    assert abs(got.brier - brier_score_loss(y, scores)) <= 0.002
    assert got.positives == y.sum() and got.negatives == n - y.sum()


def test_pack_unpack_roundtrip() -> None:
    pos, neg = np.array([1, 0, 3]), np.array([0, 2, 0])
    p2, n2 = unpack_histograms(pack_histograms(pos, neg))
    assert p2.tolist() == [1, 0, 3] and n2.tolist() == [0, 2, 0]
