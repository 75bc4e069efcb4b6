"""The label model: calibration, hand-checkable contagion terms, and graph dependence."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.consortium import Consortium, ConsortiumConfig, generate_consortium
from simulations.consortium.labels import (
    COEF,
    Labels,
    calibrate_intercept,
    cycle_components,
    make_labels,
)


def _logit(p: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.log(p / (1.0 - p))
    return out


def test_cycle_components_marks_exactly_the_nodes_on_cycles() -> None:
    # Prepare: 0<->1 mutual, 2->3->4->2 circle, 4->5 tail, 6 alone
    src = np.array([0, 1, 2, 3, 4, 4])
    dst = np.array([1, 0, 3, 4, 2, 5])
    # Execute
    comp, on_cycle = cycle_components(7, src, dst)
    # Assert
    assert on_cycle.tolist() == [True, True, True, True, True, False, False]
    assert comp[0] == comp[1] and comp[2] == comp[3] == comp[4] and comp[0] != comp[2]


@settings(max_examples=40, deadline=None)
@given(
    target=st.floats(0.01, 0.5),
    scale=st.floats(0.0, 3.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_calibrated_intercept_hits_the_target_rate(target: float, scale: float, seed: int) -> None:
    eta = scale * np.random.default_rng(seed).standard_normal(500)
    a = calibrate_intercept(eta, target)
    assert np.mean(1.0 / (1.0 + np.exp(-(a + eta)))) == pytest.approx(target, abs=1e-7)


def test_calibrate_intercept_rejects_rates_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match="target rate must be in"):
        calibrate_intercept(np.zeros(3), 1.5)


def _twins(graph_effect: float) -> tuple[np.ndarray, np.ndarray, Labels]:
    """1000 guarantors i guarantee borrowers 1000 + i; every own risk is zero."""
    n = 2_000
    guarantor = np.arange(1_000)
    borrower = guarantor + 1_000
    amount = np.full(1_000, 50.0)
    labels = make_labels(
        np.zeros(n),
        np.full(n, -1),
        np.zeros(n, dtype=bool),
        np.full(n, 100.0),
        guarantor,
        borrower,
        amount,
        history_rate=0.2,
        default_rate=0.1,
        graph_effect=graph_effect,
        rng=np.random.default_rng(5),
    )
    return guarantor, borrower, labels


def test_guaranteeing_a_defaulted_borrower_raises_the_logit_by_the_contagion_terms() -> None:
    # Prepare / Execute
    guarantor, borrower, labels = _twins(1.0)
    d = labels.defaulted
    pd6 = labels.pd_6m
    alive = guarantor[~d[guarantor]]
    hit = alive[d[borrower[alive]]]
    clean = alive[~d[borrower[alive]]]
    # Assert: one defaulted borrower, exposure 50 / 100 = 0.5
    expected = COEF["defaulted_guaranteed"] * np.log(2.0) + COEF["exposure"] * 0.5
    assert len(hit) > 50 and len(clean) > 50
    np.testing.assert_allclose(_logit(pd6[hit]) - _logit(pd6[clean][0]), expected, rtol=1e-9)
    assert (pd6[d] == 0).all() and (labels.default_6m[d] == 0).all()


def test_graph_effect_zero_removes_contagion() -> None:
    _, _, labels = _twins(0.0)
    alive = ~labels.defaulted
    pd6 = labels.pd_6m[alive]
    np.testing.assert_allclose(pd6, 0.1, rtol=1e-9)


@pytest.fixture(scope="module")
def pair() -> tuple[Consortium, Consortium]:
    return (
        generate_consortium(ConsortiumConfig(n_companies=5_000, n_members=3, seed=21)),
        generate_consortium(
            ConsortiumConfig(n_companies=5_000, n_members=3, seed=21, graph_effect=0.0)
        ),
    )


def _scored(c: Consortium) -> pd.DataFrame:
    rows = pd.concat(c.members.values()).drop_duplicates("company_id")
    return rows.set_index("company_id")


def _circle_members(c: Consortium) -> set[str]:
    gu = c.graph.guarantees
    g = nx.DiGraph(zip(gu["guarantor_id"], gu["borrower_id"], strict=True))
    return {n for comp in nx.strongly_connected_components(g) if len(comp) > 1 for n in comp}


def test_circle_members_default_more_often(pair: tuple[Consortium, Consortium]) -> None:
    # Prepare
    with_graph, _ = pair
    scored = _scored(with_graph)
    in_circle = scored.index.isin(list(_circle_members(with_graph)))
    # Execute
    rate_in = scored.loc[in_circle, "default_6m"].mean()
    rate_out = scored.loc[~in_circle, "default_6m"].mean()
    # Assert
    assert in_circle.sum() > 80
    assert rate_in > 1.8 * rate_out


def test_related_party_defaults_raise_the_default_rate(pair: tuple[Consortium, Consortium]) -> None:
    # Prepare: companies whose controller group already had an observed default
    with_graph, _ = pair
    scored = _scored(with_graph)
    defaulted = set(with_graph.graph.defaults["company_id"])
    exposed: set[str] = set()
    for group in with_graph.planted.controller_groups:
        if defaulted & set(group["company_ids"]):
            exposed |= set(group["company_ids"])
    mask = scored.index.isin(list(exposed))
    # Execute / Assert
    assert mask.sum() > 50
    assert scored.loc[mask, "default_6m"].mean() > 1.5 * scored.loc[~mask, "default_6m"].mean()


def test_graph_effect_only_changes_labels(pair: tuple[Consortium, Consortium]) -> None:
    # Prepare
    with_graph, without = pair
    # Assert: identical registry, different labels, circles matter only with the graph effect
    pd.testing.assert_frame_equal(with_graph.graph.guarantees, without.graph.guarantees)
    pd.testing.assert_frame_equal(with_graph.graph.shareholdings, without.graph.shareholdings)
    members_a = set(_circle_members(with_graph))
    a, b = _scored(with_graph), _scored(without)
    rate_a = a.loc[a.index.isin(list(members_a)), "default_6m"].mean()
    rate_b = b.loc[b.index.isin(list(members_a)), "default_6m"].mean()
    assert rate_a > rate_b + 0.05
