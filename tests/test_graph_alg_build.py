"""Building indexed graphs: validation errors name table, row, column and rule."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest

from graph_risk.build import (
    GraphDataError,
    frames_from_records,
    guarantee_graph,
    ownership_graph,
    parse_date,
    to_networkx_guarantees,
    to_networkx_ownership,
)
from graph_risk.frames import GraphFrames


def with_table(frames: GraphFrames, **tables: pd.DataFrame) -> GraphFrames:
    parts = {
        name: frames.table(name)
        for name in ("companies", "persons", "shareholdings", "guarantees", "defaults")
    }
    parts.update(tables)
    return GraphFrames(**parts)


BASE = frames_from_records(
    shareholdings=[("P", "person", "A", 0.6), ("A", "company", "B", 0.5)],
    guarantees=[("A", "B", 10.0, "2020-01-01", "2020-12-31")],
    defaults=[("B", "2021-03-01")],
)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("P", "person", "A", 1.5), r"row 2 \(0-based\), column 'share': share must be in"),
        (("P", "person", "A", 0.0), r"column 'share': share must be in \(0, 1\]"),
        (("Z", "person", "A", 0.1), r"row 2 \(0-based\), column 'holder_id': must name a row of"),
        (("P", "robot", "A", 0.1), r"column 'holder_type': must be 'person' or 'company'"),
        (("P", "person", "NOPE", 0.1), r"column 'company_id': must name a row of 'companies'"),
        (("P", "person", "A", 0.5), r"shares of company 'A' sum to 1\.1"),
    ],
)
def test_bad_shareholding_rows_are_named(row: tuple[str, str, str, float], message: str) -> None:
    table = pd.concat(
        [BASE.shareholdings, pd.DataFrame([row], columns=BASE.shareholdings.columns)],
        ignore_index=True,
    )

    with pytest.raises(GraphDataError, match=message):
        ownership_graph(with_table(BASE, shareholdings=table))


def test_bad_guarantee_date_and_amount_are_named() -> None:
    bad_date = BASE.guarantees.assign(end_date=["2020-13-45"])
    negative = BASE.guarantees.assign(amount=[-1.0])

    with pytest.raises(GraphDataError, match=r"row 0 \(0-based\), column 'end_date': must be an"):
        guarantee_graph(with_table(BASE, guarantees=bad_date), at_date="2020-06-01")
    with pytest.raises(GraphDataError, match="column 'amount': guarantee amount must be >= 0"):
        guarantee_graph(with_table(BASE, guarantees=negative))
    with pytest.raises(ValueError, match="date must be ISO YYYY-MM-DD"):
        guarantee_graph(BASE, at_date="June 2020")


def test_duplicate_company_and_unknown_default_are_named() -> None:
    twice = pd.concat([BASE.companies, BASE.companies.iloc[[0]]], ignore_index=True)
    stranger = pd.DataFrame({"company_id": ["Q"], "default_date": ["2020-01-01"]})

    with pytest.raises(GraphDataError, match=r"'companies', row 2 .*must be unique"):
        guarantee_graph(with_table(BASE, companies=twice))
    with pytest.raises(GraphDataError, match=r"'defaults', row 0 .*column 'company_id'"):
        guarantee_graph(with_table(BASE, defaults=stranger))


def test_missing_required_column_is_named() -> None:
    with pytest.raises(GraphDataError, match=r"'guarantees' lacks required column\(s\)"):
        guarantee_graph(with_table(BASE, guarantees=BASE.guarantees.drop(columns="amount")))


def test_at_date_filters_guarantees_and_defaults() -> None:
    during = guarantee_graph(BASE, at_date="2020-06-01")
    after = guarantee_graph(BASE, at_date="2021-06-01")

    assert during.amount.nnz == 1 and not during.defaulted.any()
    assert after.amount.nnz == 0 and after.defaulted.tolist() == [False, True]
    assert parse_date("2020-02-29") == parse_date(pd.Timestamp("2020-02-29").date())


def test_networkx_round_trip_keeps_amounts_shares_and_attributes() -> None:
    guarantees = to_networkx_guarantees(BASE)
    owners = to_networkx_ownership(BASE)

    assert guarantees["A"]["B"]["amount"] == 10.0
    assert guarantees.nodes["B"]["defaulted"] is True
    assert owners["A"]["B"]["share"] == 0.5
    assert owners.nodes["P"]["holder_type"] == "person"
    rebuilt = ownership_graph(owners)
    assert list(rebuilt.ids) == ["A", "B", "P"]
    assert guarantee_graph(guarantees).amount.sum() == 10.0
    assert isinstance(guarantees, nx.DiGraph)


def test_docstring_examples_run() -> None:
    import doctest

    import graph_risk.build

    result = doctest.testmod(graph_risk.build)

    assert result.attempted >= 2 and result.failed == 0
