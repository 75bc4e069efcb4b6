"""Invariants of the generated relationship graph (companies, persons, holdings, guarantees)."""

from __future__ import annotations

import itertools
from datetime import date

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from graph_risk.frames import COMPANY_COLUMNS, COMPANY_OPTIONAL_COLUMNS, TABLE_COLUMNS
from simulations.consortium import Consortium, ConsortiumConfig, generate_consortium

SCORING = date(2026, 6, 30)


@pytest.fixture(scope="module")
def cons() -> Consortium:
    return generate_consortium(ConsortiumConfig(n_companies=3_000, n_members=4, seed=11))


def _guarantee_graph(c: Consortium) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(c.graph.companies["company_id"])
    gu = c.graph.guarantees
    g.add_edges_from(zip(gu["guarantor_id"], gu["borrower_id"], strict=True))
    return g


def _ownership_graph(c: Consortium) -> nx.DiGraph:
    sh = c.graph.shareholdings
    co = sh[sh["holder_type"] == "company"]
    g = nx.DiGraph()
    for h, t, s in zip(co["holder_id"], co["company_id"], co["share"], strict=True):
        g.add_edge(h, t, share=s)
    return g


def test_tables_have_exactly_the_contract_columns(cons: Consortium) -> None:
    # Prepare / Execute
    graph = cons.graph
    # Assert
    assert tuple(graph.companies.columns) == COMPANY_COLUMNS + COMPANY_OPTIONAL_COLUMNS
    for name in ("persons", "shareholdings", "guarantees", "defaults"):
        assert tuple(graph.table(name).columns) == TABLE_COLUMNS[name]
    assert graph.companies["company_id"].is_unique
    assert graph.persons["person_id"].is_unique
    assert len(graph.companies) == 3_000


def test_shares_are_in_unit_interval_and_sum_to_at_most_one(cons: Consortium) -> None:
    sh = cons.graph.shareholdings
    assert ((sh["share"] > 0) & (sh["share"] <= 1)).all()
    assert sh.groupby("company_id")["share"].sum().max() <= 1.0 + 1e-9
    assert set(sh["holder_type"]) == {"person", "company"}
    assert not sh.duplicated(["holder_id", "company_id"]).any()
    assert (sh["holder_id"] != sh["company_id"]).all()
    # every company has at least one recorded shareholder
    assert set(sh["company_id"]) == set(cons.graph.companies["company_id"])


def test_no_dangling_ids(cons: Consortium) -> None:
    g = cons.graph
    companies = set(g.companies["company_id"])
    persons = set(g.persons["person_id"])
    sh = g.shareholdings
    assert set(sh.loc[sh["holder_type"] == "person", "holder_id"]) <= persons
    assert set(sh.loc[sh["holder_type"] == "company", "holder_id"]) <= companies
    assert set(sh["company_id"]) <= companies
    assert set(g.guarantees["guarantor_id"]) | set(g.guarantees["borrower_id"]) <= companies
    assert set(g.defaults["company_id"]) <= companies
    assert set(g.companies["legal_rep_id"]) <= persons
    for member in cons.members.values():
        assert set(member["company_id"]) <= companies


def test_layered_controller_groups_resolve_to_their_controller(cons: Consortium) -> None:
    # Prepare: follow majority (> 50 %) holders upward, as an ultimate-controller search would
    sh = cons.graph.shareholdings
    majority = sh[sh["share"] > 0.5].set_index("company_id")["holder_id"].to_dict()

    def ultimate(company: str) -> tuple[str, int]:
        node, depth = company, 0
        while node in majority:
            node, depth = majority[node], depth + 1
        return node, depth

    # Execute
    groups = cons.planted.controller_groups
    resolved = [{ultimate(cid)[0] for cid in group["company_ids"]} for group in groups]
    depths = [ultimate(cid)[1] for group in groups for cid in group["company_ids"]]
    # Assert
    assert len(groups) > 50
    assert all(r == {g["controller_id"]} for r, g in zip(resolved, groups, strict=True))
    assert max(depths) >= 3  # person -> holding -> operating -> operating
    persons = set(cons.graph.persons["person_id"])
    assert all(g["controller_id"] in persons for g in groups)
    # outside the planted groups no company has a majority company holder
    grouped = {cid for g in groups for cid in g["company_ids"]}
    standalone = [c for c in cons.graph.companies["company_id"] if c not in grouped]
    assert {majority[c] for c in standalone if c in majority} <= persons


def test_cross_holdings_exist_and_every_cycle_leaks(cons: Consortium) -> None:
    # Prepare
    own = _ownership_graph(cons)
    sh = cons.graph.shareholdings
    # Execute
    sccs = [s for s in nx.strongly_connected_components(own) if len(s) >= 2]
    # Assert: planted A<->B and longer cycles are in the holdings
    lengths = {len(c) for c in cons.planted.cross_holdings}
    assert 2 in lengths and lengths & {3, 4, 5}
    for cyc in cons.planted.cross_holdings:
        for a, b in zip(cyc, cyc[1:] + cyc[:1], strict=True):
            assert own.has_edge(a, b)
    assert sccs
    for comp in sccs:  # some member of every cycle has holders outside the cycle
        inside = sh[sh["company_id"].isin(comp) & sh["holder_id"].isin(comp)]
        inside_sum = inside.groupby("company_id")["share"].sum().reindex(list(comp), fill_value=0)
        assert inside_sum.min() < 1.0 - 1e-9


def test_planted_guarantee_circles_of_every_length_are_cycles(cons: Consortium) -> None:
    # Prepare
    g = _guarantee_graph(cons)
    # Execute
    found = {len(c) for c in nx.simple_cycles(g, length_bound=6)}
    # Assert
    assert {2, 3, 4, 5, 6} <= found
    planted = cons.planted.guarantee_circles
    assert {len(c) for c in planted} == {2, 3, 4, 5, 6}
    for circle in planted:
        assert len(set(circle)) == len(circle)
        for a, b in zip(circle, circle[1:] + circle[:1], strict=True):
            assert g.has_edge(a, b)
    mutual = [c for c in planted if len(c) == 2]
    assert mutual and all(g.has_edge(b, a) for a, b in mutual)


def test_planted_chains_are_long_paths(cons: Consortium) -> None:
    g = _guarantee_graph(cons)
    chains = cons.planted.guarantee_chains
    depths = [len(c) - 1 for c in chains]
    assert min(depths) >= 5 and max(depths) == 15
    for chain in chains:
        assert len(set(chain)) == len(chain)
        assert all(g.has_edge(a, b) for a, b in itertools.pairwise(chain))


def test_guarantee_rows_are_clean(cons: Consortium) -> None:
    gu = cons.graph.guarantees
    assert (gu["guarantor_id"] != gu["borrower_id"]).all()
    assert not gu.duplicated().any()
    assert not gu.duplicated(["guarantor_id", "borrower_id"]).any()
    start = pd.to_datetime(gu["start_date"], format="%Y-%m-%d")
    end = pd.to_datetime(gu["end_date"], format="%Y-%m-%d")
    assert (end > start).all()
    assert (gu["amount"] > 0).all()
    active = (start <= pd.Timestamp(SCORING)) & (end > pd.Timestamp(SCORING))
    assert 0.6 < active.mean() < 1.0  # most in force, some expired


def test_observed_defaults_lie_before_the_scoring_date(cons: Consortium) -> None:
    d = cons.graph.defaults
    when = pd.to_datetime(d["default_date"], format="%Y-%m-%d")
    assert (when < pd.Timestamp(SCORING)).all()
    assert (when >= pd.Timestamp(SCORING) - pd.Timedelta(days=731)).all()
    assert d["company_id"].is_unique
    assert 0.02 < len(d) / len(cons.graph.companies) < 0.09


def test_related_party_signals_are_shared_within_groups(cons: Consortium) -> None:
    # Prepare
    co = cons.graph.companies.set_index("company_id")
    group = {
        cid: i for i, g in enumerate(cons.planted.controller_groups) for cid in g["company_ids"]
    }
    co["group"] = co.index.map(group)
    grouped = co.dropna(subset=["group"])
    # Execute: how many distinct values a group uses vs how many companies it has
    per_group = grouped.groupby("group").agg(
        n=("name", "size"), reps=("legal_rep_id", "nunique"), addrs=("address", "nunique")
    )
    # Assert
    assert (per_group["reps"] < per_group["n"]).mean() > 0.5
    assert (per_group["addrs"] < per_group["n"]).mean() > 0.5
    standalone = co[co["group"].isna()]
    assert standalone["address"].duplicated().mean() > 0.0  # registered agents
    assert co["phone"].str.fullmatch(r"0\d{2,3}-\d{8}").all()
    assert (co["net_assets"] <= co["total_assets"]).all()
    assert co["founded_year"].between(1986, 2026).all()


def test_edge_volume_is_about_two_per_company(cons: Consortium) -> None:
    edges = len(cons.graph.shareholdings) + len(cons.graph.guarantees)
    ratio = edges / len(cons.graph.companies)
    assert 1.6 < ratio < 2.8
    assert np.isclose(len(cons.graph.guarantees) / len(cons.graph.companies), 0.45, atol=0.15)
