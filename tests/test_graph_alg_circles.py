"""Guarantee circles (bounded simple cycles, once each) and guarantee groups."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graph_risk.algorithms.circles as circles_module
from graph_risk.algorithms import circle_stats, circles_through, find_circles, guarantee_groups
from graph_risk.build import frames_from_records, guarantee_graph


def members(circles: list) -> list[tuple[str, ...]]:
    return [c.members for c in circles]


def test_overlapping_two_cycles_are_two_circles_and_no_four_circle() -> None:
    frames = frames_from_records(
        guarantees=[("F", "G", 1), ("G", "F", 2), ("G", "H", 3), ("H", "G", 4)]
    )

    assert members(find_circles(frames, max_length=6)) == [("F", "G"), ("G", "H")]
    assert members(circles_through(frames, "G")) == [("F", "G"), ("G", "H")]
    assert members(circles_through(frames, "F")) == [("F", "G")]
    assert guarantee_groups(frames) == [("F", "G", "H")]


def test_each_circle_reported_once_rotated_to_smallest_id() -> None:
    frames = frames_from_records(guarantees=[("C", "A", 30), ("A", "B", 10), ("B", "C", 20)])

    everything = find_circles(frames)

    assert len(everything) == 1
    assert everything[0].members == ("A", "B", "C")
    assert everything[0].amounts == (10.0, 20.0, 30.0)
    for company in "ABC":
        assert members(circles_through(frames, company)) == [("A", "B", "C")]


def test_triangle_with_chord_has_a_two_cycle_and_the_triangle() -> None:
    # A->B->C->A plus chord A->C: A->C->A is a 2-cycle too.
    frames = frames_from_records(
        guarantees=[("A", "B", 1), ("B", "C", 1), ("C", "A", 1), ("A", "C", 1)]
    )

    assert members(find_circles(frames)) == [("A", "C"), ("A", "B", "C")]
    assert members(find_circles(frames, max_length=2)) == [("A", "C")]
    assert members(circles_through(frames, "B")) == [("A", "B", "C")]


def test_square_with_chord_respects_the_length_bound() -> None:
    frames = frames_from_records(
        guarantees=[("A", "B", 1), ("B", "C", 1), ("C", "D", 1), ("D", "A", 1), ("A", "C", 1)]
    )

    assert members(find_circles(frames, max_length=4)) == [("A", "C", "D"), ("A", "B", "C", "D")]
    assert members(find_circles(frames, max_length=3)) == [("A", "C", "D")]


def test_self_guarantee_and_acyclic_chain_are_no_circles() -> None:
    frames = frames_from_records(guarantees=[("A", "A", 5), ("A", "B", 1), ("B", "C", 1)])

    assert find_circles(frames) == []
    assert guarantee_groups(frames) == []
    assert circles_through(frames, "A") == []


def test_repeated_guarantees_between_a_pair_sum_their_amounts() -> None:
    frames = frames_from_records(guarantees=[("A", "B", 10), ("A", "B", 5), ("B", "A", 1)])

    assert find_circles(frames)[0].amounts == (15.0, 1.0)


def test_circle_stats_count_and_shortest_per_company() -> None:
    frames = frames_from_records(
        guarantees=[
            ("F", "G", 1),
            ("G", "F", 1),
            ("G", "H", 1),
            ("H", "I", 1),
            ("I", "G", 1),
            ("X", "F", 1),
        ]
    )
    graph = guarantee_graph(frames)

    count, shortest = circle_stats(graph, 6)

    by_id = dict(zip(graph.ids, zip(count.tolist(), shortest.tolist(), strict=True), strict=True))
    assert by_id == {"F": (1, 2), "G": (2, 2), "H": (1, 3), "I": (1, 3), "X": (0, 0)}


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, True])
def test_length_bound_must_be_an_integer_of_at_least_two(bad: object) -> None:
    frames = frames_from_records(guarantees=[("A", "B", 1)])

    with pytest.raises(ValueError, match="max circle length must be an integer >= 2"):
        find_circles(frames, max_length=bad)  # type: ignore[arg-type]


def _canonical(cycle: list[str]) -> tuple[str, ...]:
    i = cycle.index(min(cycle))
    return tuple(cycle[i:] + cycle[:i])


@st.composite
def digraphs(draw: st.DrawFn) -> tuple[nx.DiGraph, int]:
    n = draw(st.integers(1, 8))
    cells = draw(st.lists(st.booleans(), min_size=n * n, max_size=n * n))
    graph = nx.DiGraph()
    graph.add_nodes_from(f"N{i}" for i in range(n))
    for k, on in enumerate(cells):
        if on:
            graph.add_edge(f"N{k // n}", f"N{k % n}", amount=1.0 + k)
    return graph, draw(st.integers(2, 8))


@settings(max_examples=80, deadline=None)
@given(digraphs())
def test_circles_equal_networkx_simple_cycles_with_length_bound(
    case: tuple[nx.DiGraph, int],
) -> None:
    graph, bound = case
    expected = sorted(
        {_canonical(c) for c in nx.simple_cycles(graph, length_bound=bound) if len(c) >= 2},
        key=lambda c: (len(c), c),
    )

    found = members(find_circles(graph, max_length=bound))

    assert found == expected
    for node in graph.nodes:
        assert members(circles_through(graph, node, max_length=bound)) == [
            c for c in expected if node in c
        ]
    groups = {tuple(sorted(c)) for c in nx.strongly_connected_components(graph) if len(c) > 1}
    assert set(guarantee_groups(graph)) == groups


def test_large_search_is_chunked_and_still_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    # A dense 12-node digraph yields thousands of bounded cycles; tiny chunks force the
    # frontier to be split many times.
    monkeypatch.setattr(circles_module, "CHUNK_ROWS", 64)
    rng = np.random.default_rng(3)
    graph = nx.DiGraph()
    for i in range(12):
        for j in range(12):
            if i != j and rng.random() < 0.5:
                graph.add_edge(f"N{i:02d}", f"N{j:02d}")
    expected = {_canonical(c) for c in nx.simple_cycles(graph, length_bound=6) if len(c) >= 2}

    found = members(find_circles(graph, max_length=6))

    assert len(found) == len(expected) > 1000
    assert set(found) == expected
