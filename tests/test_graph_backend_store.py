"""The embedded store's files (manifest, checksums, atomic commits) and the backend factory."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from graph_risk.backends import GraphBackendError, default_store_path, open_backend
from graph_risk.backends import networkx_backend as store_module
from graph_risk.backends.networkx_backend import NetworkxBackend
from graph_risk.ingest import read_graph_dir


def _ingest(backend: NetworkxBackend, directory: Path) -> None:
    backend.upsert(*read_graph_dir(directory))


def test_manifest_records_files_rows_and_checksums(tmp_path: Path, tiny_dir: Path) -> None:
    # Prepare
    backend = NetworkxBackend(tmp_path / "s")
    # Execute
    _ingest(backend, tiny_dir)
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    # Assert
    assert manifest["generation"] == 0
    assert manifest["tables"]["guarantees"]["rows"] == 6
    assert len(manifest["tables"]["companies"]["sha256"]) == 64
    files = sorted(p.name for p in (tmp_path / "s").glob("*.parquet"))
    assert files == sorted(e["file"] for e in manifest["tables"].values())


def test_a_write_replaces_only_changed_tables_and_drops_old_files(
        tmp_path: Path, tiny_dir: Path, write_graph_dir: Callable[..., Path]) -> None:
    # Prepare
    backend = NetworkxBackend(tmp_path / "s")
    _ingest(backend, tiny_dir)
    batch = write_graph_dir({"defaults": [{"company_id": "C5", "default_date": "2025-04-01"}]})
    # Execute
    _ingest(backend, batch)
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    # Assert
    assert manifest["generation"] == 1
    assert manifest["tables"]["defaults"]["file"] == "defaults-000001.parquet"
    assert manifest["tables"]["companies"]["file"] == "companies-000000.parquet"
    assert not (tmp_path / "s" / "defaults-000000.parquet").exists()


def test_tampered_or_missing_files_are_reported(tmp_path: Path, tiny_dir: Path) -> None:
    # Prepare
    _ingest(NetworkxBackend(tmp_path / "s"), tiny_dir)
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    guarantees = tmp_path / "s" / manifest["tables"]["guarantees"]["file"]
    persons = tmp_path / "s" / manifest["tables"]["persons"]["file"]
    guarantees.write_bytes(guarantees.read_bytes()[:-1] + b"\x00")
    # Execute / Assert
    with pytest.raises(GraphBackendError, match=r"guarantees-000000\.parquet checksum mismatch"):
        NetworkxBackend(tmp_path / "s").counts()
    guarantees.unlink()
    persons.unlink()
    with pytest.raises(GraphBackendError, match=r"persons-000000\.parquet is missing"):
        NetworkxBackend(tmp_path / "s").frames()


def test_failed_commit_keeps_the_previous_generation(
        tmp_path: Path, tiny_dir: Path, write_graph_dir: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare: a committed store, then a crash while the manifest is being written
    backend = NetworkxBackend(tmp_path / "s")
    _ingest(backend, tiny_dir)
    batch = write_graph_dir({"persons": [{"person_id": "P4", "name": "New Person"}]})

    def crash(store: Path, body: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store_module, "_write_manifest", crash)
    # Execute
    with pytest.raises(OSError, match="disk full"):
        _ingest(backend, batch)
    monkeypatch.undo()
    reopened = NetworkxBackend(tmp_path / "s")
    # Assert: the old generation is intact; the next commit succeeds and cleans up
    assert reopened.counts()["persons"] == 3
    _ingest(reopened, batch)
    assert reopened.counts()["persons"] == 4
    assert len(list((tmp_path / "s").glob("persons-*.parquet"))) == 1


def test_a_second_instance_sees_commits_of_the_first(tmp_path: Path, tiny_dir: Path) -> None:
    reader = NetworkxBackend(tmp_path / "s")
    assert reader.counts()["companies"] == 0
    _ingest(NetworkxBackend(tmp_path / "s"), tiny_dir)
    assert reader.counts()["companies"] == 6
    assert not (tmp_path / "missing").exists()  # reading never creates a store


def test_graph_is_a_multidigraph_with_edge_attributes(tmp_path: Path, tiny_dir: Path) -> None:
    backend = NetworkxBackend(tmp_path / "s")
    _ingest(backend, tiny_dir)
    g = backend.graph()
    assert g.number_of_nodes() == 9 and g.number_of_edges() == 13
    assert g.nodes["P1"]["kind"] == "person"
    assert g.number_of_edges("C4", "C5") == 3  # two guarantees and a holding
    assert g["C5"]["C6"]["guarantee:2024-05-05:2026-05-05"]["amount"] == 0.1
    assert g["C4"]["C5"]["shareholding"]["share"] == 1.0


def test_default_store_path_follows_fedcredit_home(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEDCREDIT_HOME", str(tmp_path / "home"))
    assert default_store_path() == tmp_path / "home" / "graph"
    backend = open_backend()
    assert isinstance(backend, NetworkxBackend) and backend.store == tmp_path / "home" / "graph"
    monkeypatch.delenv("FEDCREDIT_HOME")
    monkeypatch.chdir(tmp_path)
    assert default_store_path() == tmp_path / ".fedcredit" / "graph"


def test_factory_rejects_bad_combinations(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        open_backend("sqlite")
    with pytest.raises(ValueError, match="apply to the neo4j backend only"):
        open_backend("networkx", store=tmp_path, uri="bolt://x:1")
    with pytest.raises(ValueError, match="needs a uri"):
        open_backend("neo4j")
    with pytest.raises(ValueError, match="applies to the networkx backend only"):
        open_backend("neo4j", uri="bolt://x:1", store=tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(GraphBackendError, match="is not a directory"):
        open_backend("networkx", store=tmp_path / "file")


def test_closed_backend_refuses_work(tmp_path: Path) -> None:
    backend = NetworkxBackend(tmp_path / "s")
    backend.close()
    with pytest.raises(GraphBackendError, match="backend is closed"):
        backend.counts()
