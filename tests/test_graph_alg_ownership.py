"""Integrated ownership: cross-holdings solved exactly, wholly-held cycles rejected."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_risk.algorithms import WhollyHeldCycleError, controller_table, integrated_ownership
from graph_risk.build import frames_from_records, ownership_graph

CROSS = [("A", "company", "B", 0.4), ("B", "company", "A", 0.3), ("P", "person", "A", 0.6)]


def shares_of(source: Any, company: str) -> dict[str, float]:
    return {o.holder: o.share for o in integrated_ownership(source, company)}


def test_cross_holding_matches_the_geometric_series() -> None:
    # Prepare: every walk into A or B can loop A->B->A any number of times (factor 0.12).
    frames = frames_from_records(shareholdings=CROSS)
    loop = 1.0 / (1.0 - 0.4 * 0.3)

    # Execute
    into_a = shares_of(frames, "A")
    into_b = shares_of(frames, "B")

    # Assert
    assert into_a == pytest.approx({"P": 0.6 * loop, "B": 0.3 * loop})
    assert into_b == pytest.approx({"A": 0.4 * loop, "P": 0.6 * 0.4 * loop})


def test_networkx_and_edge_list_sources_agree_with_frames() -> None:
    frames = frames_from_records(shareholdings=CROSS)
    graph = nx.DiGraph()
    graph.add_node("P", holder_type="person")
    for holder, _, company, share in CROSS:
        graph.add_edge(holder, company, stake=share)

    from_frames = shares_of(frames, "B")
    from_graph = {o.holder: o.share for o in integrated_ownership(graph, "B", share="stake")}
    from_edges = shares_of(frames.shareholdings, "B")

    assert from_graph == pytest.approx(from_frames)
    assert from_edges == pytest.approx(from_frames)


def test_wholly_held_cycle_is_reported_with_its_companies() -> None:
    frames = frames_from_records(
        shareholdings=[
            ("A", "company", "B", 1.0),
            ("B", "company", "C", 1.0),
            ("C", "company", "A", 1.0),
            ("P", "person", "D", 1.0),
        ]
    )

    with pytest.raises(WhollyHeldCycleError, match="A, B, C") as info:
        integrated_ownership(frames, "B")
    assert info.value.companies == ("A", "B", "C")
    with pytest.raises(WhollyHeldCycleError):
        controller_table(frames)
    assert shares_of(frames, "D") == {"P": 1.0}


def test_company_wholly_holding_itself_is_a_wholly_held_cycle() -> None:
    frames = frames_from_records(shareholdings=[("A", "company", "A", 1.0)])

    with pytest.raises(WhollyHeldCycleError, match="A"):
        integrated_ownership(frames, "A")


def test_cycle_with_one_outside_holder_converges() -> None:
    # A is 100% held by B, but B is only 60% held by A: C's 40% leaks in and C ends up
    # owning all of B: 0.4 * (1 + 0.6 + 0.6^2 + ...) = 1.
    frames = frames_from_records(
        shareholdings=[
            ("B", "company", "A", 1.0),
            ("A", "company", "B", 0.6),
            ("C", "company", "B", 0.4),
        ]
    )

    assert shares_of(frames, "B")["C"] == pytest.approx(1.0)


def test_company_inside_the_cycle_can_exceed_one_by_definition() -> None:
    # S (I - S)^-1 counts A's stake again on every round trip A->B->A.
    frames = frames_from_records(
        shareholdings=[("A", "company", "B", 0.99), ("B", "company", "A", 0.5)]
    )

    assert shares_of(frames, "B")["A"] == pytest.approx(0.99 / (1 - 0.99 * 0.5))


@st.composite
def share_matrices(draw: st.DrawFn) -> tuple[int, int, np.ndarray]:
    """Random holdings among companies (cycles allowed) and persons, each company leaking
    at least 5% to holders outside the graph."""
    n_comp = draw(st.integers(1, 6))
    n_pers = draw(st.integers(1, 3))
    n = n_comp + n_pers
    raw = np.array(draw(st.lists(st.floats(0, 1), min_size=n * n_comp, max_size=n * n_comp)))
    mask = np.array(draw(st.lists(st.booleans(), min_size=n * n_comp, max_size=n * n_comp)))
    weights = (raw * mask).reshape(n, n_comp)
    weights[np.arange(n_comp), np.arange(n_comp)] = 0.0
    keep = draw(st.floats(0.05, 0.95))
    totals = weights.sum(axis=0)
    scale = np.where(totals > 0, (1 - keep) / np.maximum(totals, 1e-12), 0.0)
    weights = weights * scale
    weights[weights < 1e-6] = 0.0
    return n_comp, n_pers, weights


def _records(n_comp: int, n_pers: int, weights: np.ndarray) -> list[tuple[str, str, str, float]]:
    names = [f"C{i}" for i in range(n_comp)] + [f"P{i}" for i in range(n_pers)]
    out = []
    for h, c in zip(*np.nonzero(weights), strict=True):
        kind = "company" if h < n_comp else "person"
        out.append((names[h], kind, names[c], float(weights[h, c])))
    return out


@settings(max_examples=60, deadline=None)
@given(share_matrices())
def test_integrated_ownership_equals_dense_formula_and_persons_own_at_most_one(
    data: tuple[int, int, np.ndarray],
) -> None:
    # Prepare: S over all nodes (persons hold, are never held).
    n_comp, n_pers, weights = data
    n = n_comp + n_pers
    s = np.zeros((n, n))
    s[:, :n_comp] = weights
    dense = s @ np.linalg.inv(np.eye(n) - s)
    names = [f"C{i}" for i in range(n_comp)] + [f"P{i}" for i in range(n_pers)]
    frames = frames_from_records(
        companies=names[:n_comp], shareholdings=_records(n_comp, n_pers, weights)
    )

    for c in range(n_comp):
        # Execute
        got = shares_of(frames, names[c])

        # Assert
        expected = {names[h]: dense[h, c] for h in range(n) if h != c and dense[h, c] > 1e-12}
        assert set(got) == set(expected)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
        persons = [v for k, v in got.items() if k.startswith("P")]
        assert all(v <= 1 + 1e-9 for v in persons)
        assert sum(persons) <= 1 + 1e-9


@settings(max_examples=40, deadline=None)
@given(share_matrices())
def test_bulk_controller_share_equals_per_company_solve(
    data: tuple[int, int, np.ndarray],
) -> None:
    n_comp, n_pers, weights = data
    names = [f"C{i}" for i in range(n_comp)] + [f"P{i}" for i in range(n_pers)]
    frames = frames_from_records(
        companies=names[:n_comp], shareholdings=_records(n_comp, n_pers, weights)
    )

    table = controller_table(frames)

    for row in table.itertuples():
        if row.controller_id:
            assert row.integrated_share == pytest.approx(
                shares_of(frames, row.company_id)[row.controller_id], rel=1e-9
            )
        else:
            assert row.integrated_share == 0.0


def test_ownership_graph_indexes_companies_in_sorted_order() -> None:
    frames = frames_from_records(companies=["Z", "A", "M"], shareholdings=CROSS)

    graph = ownership_graph(frames)

    assert list(graph.ids[: graph.n_companies]) == ["A", "B", "M", "Z"]
    assert list(graph.ids[graph.n_companies :]) == ["P"]
