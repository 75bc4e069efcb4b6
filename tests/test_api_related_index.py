"""The related-party partition built once for the risk API answers exactly as the per-company
algorithm (`graph_risk.algorithms.related.related_parties`) and is built once under threads."""

from __future__ import annotations

import threading

import pytest

from graph_risk.algorithms import related_parties
from graph_risk.algorithms.control import control_state
from graph_risk.api import GraphIndex
from graph_risk.api.groups import RelatedPartyIndex
from graph_risk.build import frames_from_records, ownership_graph
from simulations.consortium import ConsortiumConfig, generate_consortium

HOLDINGS = [
    ("P", "person", "A", 0.6),
    ("P", "person", "B", 0.7),
    ("Q", "person", "C", 0.9),
    ("R", "person", "D", 0.9),
    ("H", "company", "S", 0.8),
]


def test_hand_example_controller_and_address() -> None:
    companies = [
        {"company_id": c, "address": {"B": "1 Main St", "C": "  1  MAIN st "}.get(c)}
        for c in "ABCDHS"
    ]
    frames = frames_from_records(companies=companies, shareholdings=HOLDINGS)
    index = RelatedPartyIndex(frames, control_state(ownership_graph(frames)))

    found = index.lookup("A")

    assert found.members == ("B", "C")
    assert found.links == [
        ("A", "controller", "P"),
        ("B", "controller", "P"),
        ("B", "address", "1 Main St"),
        ("C", "address", "1 Main St"),
    ]
    assert index.lookup("D").members == () and index.lookup("D").links == []
    assert index.lookup("S").members == ("H",)
    with pytest.raises(KeyError):
        index.lookup("nobody")


def test_every_company_matches_the_uncached_algorithm() -> None:
    graph = generate_consortium(ConsortiumConfig(n_companies=400, n_members=2, seed=5)).graph
    index = GraphIndex(graph)
    ids = [str(c) for c in index.ids[: index.n_companies]]
    nontrivial = 0
    for company in ids:
        expected = related_parties(graph, company)
        assert index.related_parties(company) == expected, company
        nontrivial += len(expected.members) > 0
    assert nontrivial >= 20  # the consortium plants controller groups: the test has teeth


def test_the_partition_is_built_once_under_concurrent_first_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    graph = generate_consortium(ConsortiumConfig(n_companies=200, n_members=2, seed=6)).graph
    index = GraphIndex(graph)
    built: list[int] = []
    original = RelatedPartyIndex.__init__

    def counting(self: RelatedPartyIndex, *args: object, **kwargs: object) -> None:
        built.append(1)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RelatedPartyIndex, "__init__", counting)
    company = str(index.ids[0])
    answers: list[object] = []
    threads = [
        threading.Thread(target=lambda: answers.append(index.related_parties(company)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1
    assert answers == [related_parties(graph, company)] * 8


def test_prepare_builds_everything_once_and_reports_ready() -> None:
    graph = generate_consortium(ConsortiumConfig(n_companies=150, n_members=2, seed=7)).graph
    index = GraphIndex(graph)
    assert not index.ready
    index.prepare_in_background().join(timeout=60)
    assert index.ready
    related, circles = index._related, index.circles()
    company = str(index.ids[0])
    assert index.related_parties(company) == related_parties(graph, company)
    assert index._related is related and index.circles() is circles  # nothing rebuilt
