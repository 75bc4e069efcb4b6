"""Guarantee-chain exposure: depth, exposed companies, called amount, date window."""

from __future__ import annotations

import numpy as np
import pytest

from graph_risk.algorithms import chain_exposure, chain_exposure_table
from graph_risk.build import frames_from_records, guarantee_graph

CHAIN = [("G1", "D", 50), ("G2", "G1", 100), ("G3", "G2", 10)]


@pytest.mark.parametrize(
    ("hops", "depth", "exposed", "amount"),
    [(1, 1, 1, 50.0), (2, 2, 2, 150.0), (3, 3, 3, 160.0), (5, 3, 3, 160.0)],
)
def test_chain_exposure_grows_with_hops(hops: int, depth: int, exposed: int, amount: float) -> None:
    frames = frames_from_records(guarantees=CHAIN)

    result = chain_exposure(frames, "D", hops=hops)

    assert (result.depth, result.exposed, result.amount) == (depth, exposed, amount)


def test_paths_are_the_guarantee_chains_down_to_the_borrower() -> None:
    frames = frames_from_records(guarantees=CHAIN)

    result = chain_exposure(frames, "D", hops=2)

    assert result.hop_of == {"G1": 1, "G2": 2}
    assert result.paths == [[("G1", "D", 50.0)], [("G2", "G1", 100.0), ("G1", "D", 50.0)]]


def test_diamond_counts_each_company_and_guarantee_once() -> None:
    frames = frames_from_records(
        guarantees=[("B", "D", 1), ("C", "D", 2), ("A", "B", 4), ("A", "C", 8)]
    )

    result = chain_exposure(frames, "D", hops=2)

    assert (result.depth, result.exposed, result.amount) == (2, 3, 15.0)
    assert result.hop_of == {"B": 1, "C": 1, "A": 2}


def test_borrower_on_a_cycle_is_not_exposed_to_itself() -> None:
    frames = frames_from_records(guarantees=[("G", "D", 7), ("D", "G", 3)])

    result = chain_exposure(frames, "D", hops=3)

    assert (result.depth, result.exposed, result.amount) == (1, 1, 7.0)


def test_unguaranteed_company_has_no_exposure() -> None:
    frames = frames_from_records(guarantees=[("A", "B", 1)])

    result = chain_exposure(frames, "A")

    assert (result.depth, result.exposed, result.amount, result.paths) == (0, 0, 0.0, [])


def test_date_window_keeps_guarantees_active_on_the_day_inclusive() -> None:
    frames = frames_from_records(
        guarantees=[
            ("G1", "D", 50, "2020-01-01", "2020-12-31"),
            ("G2", "D", 70, "2021-01-01", "2021-12-31"),
            ("G3", "D", 90, "2019-06-01", None),
        ]
    )

    in_2020 = chain_exposure(frames, "D", at_date="2020-06-01")
    last_day = chain_exposure(frames, "D", at_date="2020-12-31")
    in_2021 = chain_exposure(frames, "D", at_date="2021-06-01")
    before = chain_exposure(frames, "D", at_date="2019-01-01")

    assert sorted(in_2020.hop_of) == ["G1", "G3"] and in_2020.amount == 140.0
    assert sorted(last_day.hop_of) == ["G1", "G3"]
    assert sorted(in_2021.hop_of) == ["G2", "G3"] and in_2021.amount == 160.0
    assert before.exposed == 0


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_hops_must_be_a_positive_integer(bad: object) -> None:
    frames = frames_from_records(guarantees=CHAIN)

    with pytest.raises(ValueError, match="hops must be an integer >= 1"):
        chain_exposure(frames, "D", hops=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("hops", [1, 2, 3, 4])
def test_bulk_table_equals_per_company_queries(hops: int) -> None:
    rng = np.random.default_rng(hops)
    names = [f"C{i:02d}" for i in range(30)]
    edges = [
        (names[a], names[b], float(rng.integers(1, 100)))
        for a, b in rng.integers(0, 30, size=(60, 2))
        if a != b
    ]
    frames = frames_from_records(companies=names, guarantees=edges)
    graph = guarantee_graph(frames)

    depth, count, amount = chain_exposure_table(graph, hops)

    for i, company in enumerate(graph.ids):
        one = chain_exposure(graph, company, hops=hops)
        assert (depth[i], count[i]) == (one.depth, one.exposed)
        assert amount[i] == pytest.approx(one.amount)
