"""k-hop default neighbourhood over guarantee and control edges."""

from __future__ import annotations

import numpy as np
import pytest

from graph_risk.algorithms import default_neighbourhood
from graph_risk.algorithms.control import control_state
from graph_risk.algorithms.neighbourhood import defaulted_within, neighbourhood_graph
from graph_risk.build import frames_from_records, guarantee_graph, ownership_graph


def test_counts_and_weighted_share_along_a_guarantee_chain() -> None:
    frames = frames_from_records(
        companies=[
            {"company_id": "A", "total_assets": 1.0},
            {"company_id": "B", "total_assets": 3.0},
            {"company_id": "C", "total_assets": 1.0},
        ],
        guarantees=[("A", "B", 1), ("B", "C", 1)],
        defaults=["C"],
    )

    result = default_neighbourhood(frames, "A", hops=3)

    assert result.count == {1: 0, 2: 1, 3: 1}
    assert result.weighted_share == pytest.approx({1: 0.0, 2: 0.25, 3: 0.25})
    assert result.defaulted == [("C", 2, [("A", "B", "guarantee"), ("B", "C", "guarantee")])]


def test_guarantee_direction_does_not_matter_for_counting() -> None:
    frames = frames_from_records(guarantees=[("A", "B", 1), ("B", "C", 1)], defaults=["A"])

    assert default_neighbourhood(frames, "C", hops=2).count == {1: 0, 2: 1}


def test_companies_of_one_controller_are_two_hops_apart_via_the_person() -> None:
    frames = frames_from_records(
        shareholdings=[
            ("P", "person", "X", 0.6),
            ("P", "person", "Y", 0.6),
            ("Q", "person", "X", 0.1),
            ("Q", "person", "Z", 0.1),
        ],
        defaults=["Y", "Z"],
    )

    result = default_neighbourhood(frames, "X", hops=2)

    assert result.count == {1: 0, 2: 1}
    assert result.defaulted == [("Y", 2, [("X", "P", "control"), ("P", "Y", "control")])]


def test_control_edge_through_an_intermediate_company() -> None:
    frames = frames_from_records(
        shareholdings=[("P", "person", "A", 0.6), ("A", "company", "B", 0.7)],
        defaults=["A"],
    )

    assert default_neighbourhood(frames, "B", hops=1).count == {1: 1}


def test_bulk_counts_equal_per_company_queries() -> None:
    rng = np.random.default_rng(5)
    names = [f"C{i:02d}" for i in range(25)]
    guarantees = [(names[a], names[b], 1.0) for a, b in rng.integers(0, 25, size=(25, 2)) if a != b]
    holdings = [(f"P{k}", "person", names[c], 0.6) for k, c in enumerate(rng.integers(0, 25, 10))]
    holdings = list({h[2]: h for h in holdings}.values())
    holdings += [
        ("P0", "person", names[c], 0.3)
        for c in range(0, 25, 4)
        if names[c] not in {h[2] for h in holdings}
    ]
    defaults = [names[i] for i in rng.choice(25, size=5, replace=False)]
    frames = frames_from_records(
        companies=names, guarantees=guarantees, shareholdings=holdings, defaults=defaults
    )
    guarantees_graph = guarantee_graph(frames)
    state = control_state(ownership_graph(frames))
    flags = np.zeros(state.graph.n, dtype=bool)
    flags[: guarantees_graph.n] = guarantees_graph.defaulted

    bulk = defaulted_within(neighbourhood_graph(guarantees_graph, state), flags, 3)

    for i, company in enumerate(guarantees_graph.ids):
        one = default_neighbourhood(frames, company, hops=3)
        assert [int(bulk[h][i]) for h in (1, 2, 3)] == [one.count[h] for h in (1, 2, 3)]
