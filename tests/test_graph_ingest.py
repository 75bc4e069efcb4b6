"""Reading and validating graph directories (graph_risk.ingest), without a store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_risk.frames import GraphFrames
from graph_risk.ingest import (
    GraphValidationError,
    Issue,
    KnownGraph,
    canonical_table,
    read_graph_dir,
    referenced_ids,
    validate_frames,
)

Tables = dict[str, list[dict[str, str]]]


def _issues(directory: Path, known: KnownGraph | None = None) -> list[Issue]:
    frames, sources = read_graph_dir(directory)
    with pytest.raises(GraphValidationError) as info:
        validate_frames(frames, sources, known)
    return list(info.value.issues)


def test_valid_directory_parses_to_typed_canonical_frames(tiny_dir: Path) -> None:
    # Prepare
    frames, sources = read_graph_dir(tiny_dir)
    # Execute
    clean = validate_frames(frames, sources)
    # Assert
    assert sources["guarantees"] == "guarantees.csv"
    assert clean.companies["company_id"].tolist() == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert clean.companies["net_assets"].tolist()[1] == -50.0
    assert clean.companies["founded_year"].dtype == np.int64
    assert pd.isna(clean.companies.loc[1, "address"])  # empty optional cell -> missing
    assert clean.shareholdings["share"].dtype == np.float64
    assert 1 / 3 in clean.shareholdings["share"].tolist()
    assert clean.guarantees["start_date"].tolist()[0] == "2024-01-01"


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "rule"),
    [
        ("guarantees", 2, "borrower_id", "C99", "unknown company id"),
        ("shareholdings", 1, "holder_id", "P9", "unknown person id"),
        ("shareholdings", 3, "holder_id", "C9", "unknown company id"),
        ("defaults", 1, "company_id", "C7", "unknown company id"),
        ("companies", 1, "legal_rep_id", "P7", "unknown person id"),
        ("shareholdings", 4, "share", "1.5", "share outside (0, 1]"),
        ("shareholdings", 4, "share", "0", "share outside (0, 1]"),
        ("guarantees", 1, "amount", "-1", "negative amount"),
        ("companies", 2, "total_assets", "-3", "negative amount"),
        ("guarantees", 1, "end_date", "2023-12-31", "end before start"),
        ("guarantees", 1, "borrower_id", "C1", "self-guarantee"),
        ("shareholdings", 3, "holder_id", "C2", "self-holding"),
        ("guarantees", 2, "amount", "12,5", "not a number"),
        ("guarantees", 2, "amount", "nan", "not a number"),
        ("companies", 3, "founded_year", "2015.5", "not an integer"),
        ("guarantees", 3, "start_date", "2024-13-01", "not an ISO date"),
        ("guarantees", 3, "start_date", "01/03/2024", "not an ISO date"),
        ("shareholdings", 2, "holder_type", "trust", "holder_type not person|company"),
        ("persons", 2, "name", "", "missing value"),
        ("persons", 2, "name", "a\x07b", "control character"),
        ("persons", 3, "person_id", "C4", "id used by a person and a company"),
    ],
)
def test_each_rule_names_file_row_column(
    tiny_tables: Tables, write_graph_dir: Callable[..., Path],
    table: str, row: int, column: str, value: str, rule: str,
) -> None:
    # Prepare
    tiny_tables[table][row - 1][column] = value
    directory = write_graph_dir(tiny_tables)
    # Execute
    issues = _issues(directory)
    # Assert
    match = [i for i in issues if i.rule.startswith(rule)]
    assert match, issues
    assert (match[0].source, match[0].row, match[0].column) == (f"{table}.csv", row, column)


def test_shares_of_one_company_above_one(tiny_tables: Tables,
                                         write_graph_dir: Callable[..., Path]) -> None:
    # Prepare: C1 is already held 0.6 + 0.4
    tiny_tables["shareholdings"].append(
        {"holder_id": "P3", "holder_type": "person", "company_id": "C1", "share": "0.2"})
    # Execute
    issues = _issues(write_graph_dir(tiny_tables))
    # Assert
    assert [(i.row, i.column) for i in issues] == [(1, "share")]
    assert issues[0].rule.startswith("shares sum above 1 (company C1 totals 1.2")


def test_duplicates_distinguish_identical_rows_from_conflicting_keys(
        tiny_tables: Tables, write_graph_dir: Callable[..., Path]) -> None:
    # Prepare
    tiny_tables["guarantees"].append(dict(tiny_tables["guarantees"][0]))
    tiny_tables["persons"].append({"person_id": "P2", "name": "Someone Else"})
    # Execute
    issues = _issues(write_graph_dir(tiny_tables))
    # Assert
    rules = {(i.source, i.row): i.rule for i in issues}
    assert rules[("guarantees.csv", 7)].startswith("duplicate row")
    assert "first in row 1" in rules[("guarantees.csv", 7)]
    assert rules[("persons.csv", 4)].startswith("duplicate key (person_id=P2; first in row 2)")


def test_missing_and_unknown_columns(tiny_tables: Tables,
                                     write_graph_dir: Callable[..., Path]) -> None:
    # Prepare
    for row in tiny_tables["guarantees"]:
        del row["amount"]
    for row in tiny_tables["persons"]:
        row["nickname"] = "x"
    # Execute
    issues = _issues(write_graph_dir(tiny_tables))
    # Assert: exactly the two column problems, no per-row cascade
    assert sorted((i.source, i.row, i.column, i.rule) for i in issues) == [
        ("guarantees.csv", None, "amount", "missing column"),
        ("persons.csv", None, "nickname", "unknown column"),
    ]


def test_all_errors_are_reported_together(tiny_tables: Tables,
                                          write_graph_dir: Callable[..., Path]) -> None:
    # Prepare
    tiny_tables["guarantees"][0]["amount"] = "-5"
    tiny_tables["guarantees"][1]["end_date"] = "2000-01-01"
    tiny_tables["shareholdings"][0]["share"] = "abc"
    # Execute
    issues = _issues(write_graph_dir(tiny_tables))
    # Assert
    assert {(i.source, i.row) for i in issues} == {
        ("shareholdings.csv", 1), ("guarantees.csv", 1), ("guarantees.csv", 2)}
    assert "3 problem(s)" in str(GraphValidationError(issues))


def test_known_store_ids_make_an_incremental_batch_valid(
        write_graph_dir: Callable[..., Path]) -> None:
    # Prepare: a batch naming companies only the store knows
    batch = {"guarantees": [{"guarantor_id": "C1", "borrower_id": "C9", "amount": "5",
                             "start_date": "2025-01-01", "end_date": "2025-02-01"}]}
    directory = write_graph_dir(batch)
    frames, sources = read_graph_dir(directory)
    known = KnownGraph(kinds={"C1": "company", "C9": "company"})
    # Execute
    clean = validate_frames(frames, sources, known)
    unknown = _issues(directory)
    # Assert
    assert len(clean.guarantees) == 1 and clean.companies.empty
    assert {i.value for i in unknown} == {"C1", "C9"}


def test_stored_holdings_count_towards_share_sums(write_graph_dir: Callable[..., Path]) -> None:
    # Prepare: the store holds P1 -> C1 0.7; the batch adds P2 -> C1 0.4 and replaces nothing
    stored = canonical_table("shareholdings", pd.DataFrame(
        {"holder_id": ["P1"], "holder_type": ["person"], "company_id": ["C1"], "share": [0.7]}))
    known = KnownGraph(kinds={"C1": "company", "P1": "person", "P2": "person"},
                       holdings=stored)
    add = write_graph_dir({"shareholdings": [
        {"holder_id": "P2", "holder_type": "person", "company_id": "C1", "share": "0.4"}]}, "a")
    replace = write_graph_dir({"shareholdings": [
        {"holder_id": "P1", "holder_type": "person", "company_id": "C1", "share": "0.5"},
        {"holder_id": "P2", "holder_type": "person", "company_id": "C1", "share": "0.4"}]}, "b")
    # Execute
    issues = _issues(add, known)
    frames, sources = read_graph_dir(replace)
    clean = validate_frames(frames, sources, known)
    # Assert: 0.7 + 0.4 > 1 is refused; replacing 0.7 by 0.5 gives 0.9, accepted
    assert [i.rule.split(" (")[0] for i in issues] == ["shares sum above 1"]
    assert clean.shareholdings["share"].sum() == pytest.approx(0.9)


def test_directory_problems(tmp_path: Path, tiny_dir: Path) -> None:
    # Prepare
    empty = tmp_path / "empty"
    empty.mkdir()
    (tiny_dir / "persons.parquet").write_bytes(b"")
    # Execute / Assert
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_graph_dir(tmp_path / "absent")
    with pytest.raises(GraphValidationError, match="no graph table files"):
        read_graph_dir(empty)
    with pytest.raises(GraphValidationError, match=r"both persons\.csv and persons\.parquet"):
        read_graph_dir(tiny_dir)


def test_parquet_directory_reads_like_csv(tmp_path: Path, tiny_dir: Path) -> None:
    # Prepare: the same graph as typed Parquet files (dates as real dates)
    clean = validate_frames(*read_graph_dir(tiny_dir))
    out = tmp_path / "pq"
    out.mkdir()
    for name in ("companies", "persons", "shareholdings", "defaults"):
        clean.table(name).to_parquet(out / f"{name}.parquet")
    g = clean.guarantees.assign(start_date=pd.to_datetime(clean.guarantees["start_date"]))
    g.to_parquet(out / "guarantees.parquet")
    # Execute
    again = validate_frames(*read_graph_dir(out))
    # Assert
    for name in ("companies", "persons", "shareholdings", "guarantees", "defaults"):
        pd.testing.assert_frame_equal(again.table(name), clean.table(name))


def test_referenced_ids_lists_every_named_id(tiny_dir: Path) -> None:
    frames, _ = read_graph_dir(tiny_dir)
    assert referenced_ids(frames) == {"C1", "C2", "C3", "C4", "C5", "C6", "P1", "P2", "P3"}


@settings(max_examples=20, deadline=None)
@given(shares=st.lists(st.floats(min_value=1e-6, max_value=1.0), min_size=1, max_size=6))
def test_share_sum_rule_matches_arithmetic(shares: list[float]) -> None:
    # Prepare: n holders of one company
    holders = [f"P{i}" for i in range(len(shares))]
    frames = GraphFrames(
        companies=pd.DataFrame([{"company_id": "C", "name": "c", "industry": "i",
                                 "region": "r", "registered_capital": 1, "total_assets": 1,
                                 "net_assets": 1, "founded_year": 2000}]),
        persons=pd.DataFrame({"person_id": holders, "name": holders}),
        shareholdings=pd.DataFrame({"holder_id": holders, "holder_type": "person",
                                    "company_id": "C", "share": shares}),
        guarantees=pd.DataFrame(columns=["guarantor_id", "borrower_id", "amount",
                                         "start_date", "end_date"]),
        defaults=pd.DataFrame(columns=["company_id", "default_date"]),
    )
    # Execute
    try:
        validate_frames(frames)
        accepted = True
    except GraphValidationError as exc:
        accepted = False
        assert all(i.rule.startswith("shares sum above 1") for i in exc.issues)
    # Assert
    assert accepted == (sum(shares) <= 1 + 1e-9)
