"""The shared backend suite: every test runs on the networkx store AND on the Bolt server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from graph_risk.backends import GraphBackend
from graph_risk.frames import TABLE_COLUMNS, GraphFrames
from graph_risk.ingest import GraphValidationError, read_graph_dir, validate_frames

Tables = dict[str, list[dict[str, str]]]


def _ingest(backend: GraphBackend, directory: Path) -> Any:
    frames, sources = read_graph_dir(directory)
    return backend.upsert(frames, sources)


def _assert_frames_equal(got: GraphFrames, want: GraphFrames) -> None:
    for name in TABLE_COLUMNS:
        pd.testing.assert_frame_equal(got.table(name), want.table(name), obj=name)


def test_ingest_round_trips_exactly(graph_backend: GraphBackend, tiny_dir: Path) -> None:
    # Prepare
    expected = validate_frames(*read_graph_dir(tiny_dir))
    # Execute
    stats = _ingest(graph_backend, tiny_dir)
    # Assert: same rows, same values (1/3 and 0.1 included), same dtypes
    assert {t: c.created for t, c in stats.tables.items()} == {
        "companies": 6, "persons": 3, "shareholdings": 7, "guarantees": 6, "defaults": 1}
    assert graph_backend.counts() == {
        "companies": 6, "persons": 3, "shareholdings": 7, "guarantees": 6, "defaults": 1}
    _assert_frames_equal(graph_backend.frames(), expected)


def test_reingest_is_idempotent(graph_backend: GraphBackend, tiny_dir: Path) -> None:
    # Prepare
    _ingest(graph_backend, tiny_dir)
    before = graph_backend.frames()
    # Execute
    stats = _ingest(graph_backend, tiny_dir)
    # Assert
    assert stats.total("created") == 0 and stats.total("updated") == 0
    assert stats.total("unchanged") == 23
    _assert_frames_equal(graph_backend.frames(), before)


def test_incremental_ingest_adds_and_updates(graph_backend: GraphBackend, tiny_dir: Path,
                                            write_graph_dir: Callable[..., Path]) -> None:
    # Prepare: a batch with one new company, a changed name, a new guarantee between stored
    # companies and a new default
    _ingest(graph_backend, tiny_dir)
    batch = write_graph_dir({
        "companies": [
            {"company_id": "C7", "name": "Eta Mining", "industry": "mining", "region": "West",
             "registered_capital": "10", "total_assets": "40", "net_assets": "12",
             "founded_year": "2022"},
            {"company_id": "C2", "name": "Beta Steel Group", "industry": "steel",
             "region": "East", "registered_capital": "300", "total_assets": "900",
             "net_assets": "-50", "founded_year": "2010"},
        ],
        "guarantees": [{"guarantor_id": "C6", "borrower_id": "C7", "amount": "3.5",
                        "start_date": "2025-01-01", "end_date": "2025-12-31"}],
        "defaults": [{"company_id": "C7", "default_date": "2025-06-01"}],
    })
    # Execute
    stats = _ingest(graph_backend, batch)
    # Assert
    assert (stats.tables["companies"].created, stats.tables["companies"].updated) == (1, 1)
    assert graph_backend.counts() == {
        "companies": 7, "persons": 3, "shareholdings": 7, "guarantees": 7, "defaults": 2}
    c2 = graph_backend.company("C2")
    assert c2 is not None and c2["name"] == "Beta Steel Group"
    assert c2["legal_rep_id"] is None  # the row replaces the stored row
    c7 = graph_backend.company("C7")
    assert c7 is not None and c7["default_date"] == "2025-06-01"


def test_incremental_batch_is_validated_against_the_store(
        graph_backend: GraphBackend, tiny_dir: Path,
        write_graph_dir: Callable[..., Path]) -> None:
    # Prepare
    _ingest(graph_backend, tiny_dir)
    batch = write_graph_dir({
        "shareholdings": [{"holder_id": "P3", "holder_type": "person", "company_id": "C1",
                           "share": "0.2"}],
        "guarantees": [{"guarantor_id": "C6", "borrower_id": "C8", "amount": "1",
                        "start_date": "2025-01-01", "end_date": "2025-12-31"}],
    })
    before = graph_backend.frames()
    # Execute
    with pytest.raises(GraphValidationError) as info:
        _ingest(graph_backend, batch)
    # Assert: C1 is already fully held in the store, C8 exists nowhere
    rules = sorted(i.rule.split(" (")[0] for i in info.value.issues)
    assert rules == ["shares sum above 1", "unknown company id"]
    _assert_frames_equal(graph_backend.frames(), before)


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "rule"),
    [
        ("guarantees", 2, "borrower_id", "C99", "unknown company id"),
        ("shareholdings", 4, "share", "1.01", "share outside (0, 1]"),
        ("guarantees", 1, "end_date", "2023-01-01", "end before start"),
        ("guarantees", 2, "amount", "1e", "not a number"),
        ("shareholdings", 2, "holder_type", "trust", "holder_type not person|company"),
    ],
)
def test_bad_batch_writes_nothing(
        graph_backend: GraphBackend, tiny_dir: Path, tiny_tables: Tables,
        write_graph_dir: Callable[..., Path],
        table: str, row: int, column: str, value: str, rule: str) -> None:
    # Prepare: the store holds the tiny graph; the bad batch also carries a valid new company
    _ingest(graph_backend, tiny_dir)
    before = graph_backend.frames()
    tiny_tables[table][row - 1][column] = value
    tiny_tables["companies"].append(dict(tiny_tables["companies"][0], company_id="C9"))
    batch = write_graph_dir(tiny_tables)
    # Execute
    with pytest.raises(GraphValidationError) as info:
        _ingest(graph_backend, batch)
    # Assert
    issue = info.value.issues[0]
    assert (issue.source, issue.row, issue.column) == (f"{table}.csv", row, column)
    assert issue.rule.startswith(rule)
    assert graph_backend.company("C9") is None
    _assert_frames_equal(graph_backend.frames(), before)


def test_duplicate_rows_and_missing_columns_write_nothing(
        graph_backend: GraphBackend, tiny_tables: Tables,
        write_graph_dir: Callable[..., Path]) -> None:
    # Prepare: an empty store and a batch with a duplicated row and a missing column
    tiny_tables["guarantees"].append(dict(tiny_tables["guarantees"][2]))
    for person in tiny_tables["persons"]:
        del person["name"]
    batch = write_graph_dir(tiny_tables)
    # Execute
    with pytest.raises(GraphValidationError) as info:
        _ingest(graph_backend, batch)
    # Assert
    found = {(i.source, i.row, i.rule.split(" (")[0]) for i in info.value.issues}
    assert found == {("guarantees.csv", 7, "duplicate row"),
                     ("persons.csv", None, "missing column")}
    assert graph_backend.counts() == dict.fromkeys(TABLE_COLUMNS, 0)


def test_ego_frames_is_the_induced_neighbourhood(graph_backend: GraphBackend,
                                                 tiny_dir: Path) -> None:
    # Prepare
    _ingest(graph_backend, tiny_dir)
    # Execute
    one = graph_backend.ego_frames("C1", hops=1)
    lent = graph_backend.ego_frames("C1", hops=1, kinds=("guarantee",))
    two = graph_backend.ego_frames("C6", hops=2)
    alone = graph_backend.ego_frames("C6", hops=0)
    # Assert: C1's neighbours are its holders P1, P2, its subsidiary C2 and guarantor C3;
    # the induced edges include C2 -> C3 (both neighbours) but not P3 -> C3 (P3 is 2 hops)
    assert one.companies["company_id"].tolist() == ["C1", "C2", "C3"]
    assert one.persons["person_id"].tolist() == ["P1", "P2"]
    assert list(zip(one.shareholdings["holder_id"], one.shareholdings["company_id"],
                    strict=True)) == [("C1", "C2"), ("C2", "C3"), ("P1", "C1"), ("P2", "C1")]
    assert one.shareholdings["holder_type"].tolist() == ["company", "company", "person",
                                                         "person"]
    assert len(one.guarantees) == 3 and one.defaults.empty
    assert lent.persons.empty and lent.shareholdings.empty and len(lent.guarantees) == 3
    # C6 <- C5 <- C4: both C4 -> C5 guarantees and the C4 -> C5 holding, C6's default
    assert two.companies["company_id"].tolist() == ["C4", "C5", "C6"]
    assert two.guarantees["amount"].tolist() == [10.0, 20.0, 0.1]
    assert two.shareholdings["share"].tolist() == [1.0]
    assert two.defaults["default_date"].tolist() == ["2025-03-01"]
    assert alone.companies["company_id"].tolist() == ["C6"] and alone.guarantees.empty


def test_ego_frames_can_follow_one_direction(graph_backend: GraphBackend,
                                             tiny_dir: Path) -> None:
    # Prepare
    _ingest(graph_backend, tiny_dir)
    # Execute
    owners = graph_backend.ego_frames("C3", hops=2, kinds=("shareholding",), direction="in")
    owned = graph_backend.ego_frames("C1", hops=2, kinds=("shareholding",), direction="out")
    # Assert: C3's holders (C2, P3) and their holders (C1) but not C1's owners (3 links up)
    assert owners.companies["company_id"].tolist() == ["C1", "C2", "C3"]
    assert owners.persons["person_id"].tolist() == ["P3"]
    assert list(zip(owners.shareholdings["holder_id"], owners.shareholdings["company_id"],
                    strict=True)) == [("C1", "C2"), ("C2", "C3"), ("P3", "C3")]
    # C1 holds C2, which holds C3; nobody upstream of C1 is reached
    assert owned.companies["company_id"].tolist() == ["C1", "C2", "C3"]
    assert owned.persons.empty and len(owned.shareholdings) == 2
    with pytest.raises(ValueError, match="direction must be one of"):
        graph_backend.ego_frames("C1", direction="up")


def test_ego_frames_rows_equal_the_stored_rows(graph_backend: GraphBackend,
                                               tiny_dir: Path) -> None:
    # Prepare
    _ingest(graph_backend, tiny_dir)
    full = graph_backend.frames()
    # Execute: 3 hops from C3 over everything reaches C1, C2, C3, C4 (via P1), P1..P3
    ego = graph_backend.ego_frames("C3", hops=3)
    # Assert: the rows are exactly the stored rows of those nodes
    nodes = {"C1", "C2", "C3", "C4", "P1", "P2", "P3"}
    want = full.companies[full.companies["company_id"].isin(nodes)].reset_index(drop=True)
    pd.testing.assert_frame_equal(ego.companies, want)
    held = full.shareholdings
    want_held = held[held["holder_id"].isin(nodes) & held["company_id"].isin(nodes)]
    pd.testing.assert_frame_equal(ego.shareholdings, want_held.reset_index(drop=True))


def test_ego_frames_arguments_are_checked(graph_backend: GraphBackend, tiny_dir: Path) -> None:
    _ingest(graph_backend, tiny_dir)
    with pytest.raises(KeyError, match="unknown company 'C404'"):
        graph_backend.ego_frames("C404", hops=2)
    with pytest.raises(ValueError, match=r"hops must be an integer in \[0, 10\]"):
        graph_backend.ego_frames("C1", hops=11)
    with pytest.raises(ValueError, match="kinds must be a non-empty subset"):
        graph_backend.ego_frames("C1", kinds=("ownership",))


def test_company_lookup(graph_backend: GraphBackend, tiny_dir: Path) -> None:
    _ingest(graph_backend, tiny_dir)
    c6 = graph_backend.company("C6")
    assert c6 is not None
    assert (c6["name"], c6["total_assets"], c6["founded_year"], c6["address"],
            c6["default_date"]) == ("Zeta Retail", 75.0, 2020, None, "2025-03-01")
    assert graph_backend.company("nope") is None


def test_store_persists_across_reopen(backend_spec: Any, tiny_dir: Path) -> None:
    # Prepare: write through one instance (a driver, for Bolt), close it
    first = backend_spec.open()
    _ingest(first, tiny_dir)
    written = first.frames()
    first.close()
    # Execute: a fresh instance (new driver, new sessions) reads it back
    second = backend_spec.open()
    try:
        again = second.frames()
        counts = second.counts()
    finally:
        second.close()
    # Assert
    assert counts["guarantees"] == 6
    _assert_frames_equal(again, written)


def test_cypher_looking_input_is_stored_as_data(graph_backend: GraphBackend,
                                                tiny_tables: Tables,
                                                write_graph_dir: Callable[..., Path]) -> None:
    # Prepare: ids and names full of quotes, braces, comments and backslashes
    evil = "x'}) DETACH DELETE n //"
    odd = 'q"\\\'; MATCH (m) DELETE m; \\\\ \u4e2d\u6587'
    tiny_tables["companies"].append(dict(tiny_tables["companies"][0], company_id=evil,
                                         name=odd, address="\\'", legal_rep_id=""))
    tiny_tables["guarantees"].append({"guarantor_id": evil, "borrower_id": "C1",
                                      "amount": "1", "start_date": "2025-01-01",
                                      "end_date": "2025-01-02"})
    tiny_tables["persons"].append({"person_id": "P'\\", "name": "O'Brien \\ ) //"})
    expected = validate_frames(*read_graph_dir(write_graph_dir(tiny_tables, "expected")))
    # Execute
    _ingest(graph_backend, write_graph_dir(tiny_tables))
    # Assert: nothing was deleted, everything round-trips, look-ups by those ids work
    assert graph_backend.counts()["companies"] == 7
    _assert_frames_equal(graph_backend.frames(), expected)
    found = graph_backend.company(evil)
    assert found is not None and found["name"] == odd and found["address"] == "\\'"
    ego = graph_backend.ego_frames(evil, hops=1)
    assert ego.companies["company_id"].tolist() == ["C1", evil]


def test_clear_empties_the_store(graph_backend: GraphBackend, tiny_dir: Path) -> None:
    _ingest(graph_backend, tiny_dir)
    graph_backend.clear()
    assert graph_backend.counts() == dict.fromkeys(TABLE_COLUMNS, 0)
    assert graph_backend.frames().companies.empty
