"""Algorithms give identical answers on tables pulled from either backend.

A synthetic consortium (simulations.consortium) is ingested into the networkx store and
into the Bolt server; the feature table and the per-company risk queries (controllers,
circles through a company, chain exposure) are computed in Python on what each backend
returns, and must agree with each other and with the same computation on the source tables.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from graph_risk.algorithms import chain_exposure, circles_through, ultimate_controllers
from graph_risk.backends import GraphBackend, open_backend
from graph_risk.backends.local_server import LocalFalkorDB
from graph_risk.features import compute_features
from graph_risk.frames import TABLE_COLUMNS, GraphFrames
from graph_risk.ingest import canonical_frames
from simulations.consortium import ConsortiumConfig, generate_consortium

pytestmark = pytest.mark.bolt


@pytest.fixture(scope="module")
def source() -> GraphFrames:
    consortium = generate_consortium(ConsortiumConfig(n_companies=300, n_members=2, seed=11))
    return canonical_frames(consortium.graph)


@pytest.fixture(scope="module")
def stores(source: GraphFrames, bolt_server: LocalFalkorDB,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, GraphBackend]]:
    embedded = open_backend("networkx", store=tmp_path_factory.mktemp("parity") / "store")
    bolt = open_backend("neo4j", uri=bolt_server.uri)
    bolt.clear()
    backends = {"networkx": embedded, "neo4j": bolt}
    try:
        for backend in backends.values():
            backend.upsert(source)
        yield backends
    finally:
        for backend in backends.values():
            backend.close()


@pytest.fixture(scope="module")
def pulled(stores: dict[str, GraphBackend]) -> dict[str, GraphFrames]:
    return {kind: backend.frames() for kind, backend in stores.items()}


def test_both_backends_return_the_source_tables(source: GraphFrames,
                                                pulled: dict[str, GraphFrames]) -> None:
    for frames in pulled.values():
        for name in TABLE_COLUMNS:
            pd.testing.assert_frame_equal(frames.table(name), source.table(name), obj=name)


def test_feature_tables_are_identical(source: GraphFrames,
                                      pulled: dict[str, GraphFrames]) -> None:
    # Execute
    want = compute_features(source)
    got = {kind: compute_features(frames) for kind, frames in pulled.items()}
    # Assert
    assert len(want) == 300 and bool(want["in_guarantee_circle"].any())
    for table in got.values():
        pd.testing.assert_frame_equal(table, want)


def _interesting(source: GraphFrames) -> list[str]:
    """Companies on a circle, guaranteeing, guaranteed, and holding companies."""
    g = source.guarantees
    picks = [g["guarantor_id"].iloc[0], g["borrower_id"].iloc[-1]]
    circled = compute_features(source)
    picks += circled.loc[circled["in_guarantee_circle"], "company_id"].head(3).tolist()
    held = source.shareholdings
    picks += held.loc[held["holder_type"] == "company", "company_id"].head(2).tolist()
    return sorted(set(picks))


def test_per_company_queries_on_ego_tables_agree(source: GraphFrames,
                                                 stores: dict[str, GraphBackend]) -> None:
    for company in _interesting(source):
        # Execute: the risk-team queries, on each backend's neighbourhood tables
        lent = {k: b.ego_frames(company, hops=3, kinds=("guarantee",)) for k, b in stores.items()}
        owned = {k: b.ego_frames(company, hops=6, kinds=("shareholding",), direction="in")
                 for k, b in stores.items()}
        circles = {k: circles_through(f, company, max_length=6) for k, f in lent.items()}
        exposure = {k: chain_exposure(f, company, hops=3) for k, f in lent.items()}
        control = {k: ultimate_controllers(f, company) for k, f in owned.items()}
        # Assert: identical across backends, and the neighbourhoods are enough to get the
        # same circles (length <= 6), 3-hop exposure and controller as the whole graph
        assert circles["networkx"] == circles["neo4j"] == circles_through(
            source, company, max_length=6)
        assert exposure["networkx"] == exposure["neo4j"]
        full = chain_exposure(source, company, hops=3)
        assert (exposure["neo4j"].exposed, exposure["neo4j"].amount,
                exposure["neo4j"].hop_of) == (full.exposed, full.amount, full.hop_of)
        assert control["networkx"] == control["neo4j"] == ultimate_controllers(source, company)

