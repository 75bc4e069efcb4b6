"""`fedcredit graph ingest|stats|features` on both backends, through the Typer app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from graph_risk.cli import app
from graph_risk.features import FEATURE_COLUMNS
from graph_risk.frames import TABLE_COLUMNS

Tables = dict[str, list[dict[str, str]]]
runner = CliRunner()


def _store_args(spec: Any) -> list[str]:
    kind = spec.kind
    options = spec.options
    if kind == "networkx":
        return ["--store", str(options["store"])]
    return ["--backend", "neo4j", "--uri", options["uri"]]


def _table_rows(output: str) -> list[list[str]]:
    """Cells of the body rows of a rich table."""
    return [[c.strip() for c in line.strip("│ ").split("│")]
            for line in output.splitlines() if line.startswith("│")]


def test_ingest_then_reingest_then_stats(backend_spec: Any, tiny_dir: Path) -> None:
    # Execute
    first = runner.invoke(app, ["ingest", "--dir", str(tiny_dir), *_store_args(backend_spec)])
    second = runner.invoke(app, ["ingest", "--dir", str(tiny_dir), *_store_args(backend_spec)])
    stats = runner.invoke(app, ["stats", *_store_args(backend_spec)])
    # Assert
    assert first.exit_code == 0, first.output
    assert ["guarantees", "6", "0", "0"] in _table_rows(first.output)
    assert second.exit_code == 0
    assert ["guarantees", "0", "0", "6"] in _table_rows(second.output)
    assert stats.exit_code == 0
    rows = {cells[0]: cells[1] for cells in _table_rows(stats.output) if len(cells) == 2}
    assert rows == {"companies": "6", "persons": "3", "shareholdings": "7",
                    "guarantees": "6", "defaults": "1"}


def test_bad_directory_reports_every_problem_and_writes_nothing(
        backend_spec: Any, tiny_tables: Tables, write_graph_dir: Callable[..., Path]) -> None:
    # Prepare
    tiny_tables["guarantees"][0]["amount"] = "-3"
    tiny_tables["shareholdings"][1]["holder_type"] = "trust"
    directory = write_graph_dir(tiny_tables)
    # Execute
    result = runner.invoke(app, ["ingest", "--dir", str(directory), *_store_args(backend_spec)])
    opened = backend_spec.open()
    counts = opened.counts()
    opened.close()
    # Assert
    assert result.exit_code == 1
    assert "shareholdings.csv, row 2, column holder_type: holder_type not person|company" in (
        result.output)
    assert "guarantees.csv, row 1, column amount: negative amount" in result.output
    assert "2 problem(s) in graph input" in result.output and "nothing written" in result.output
    assert "Traceback" not in result.output
    assert counts == dict.fromkeys(TABLE_COLUMNS, 0)


def test_dry_run_validates_without_writing(backend_spec: Any, tiny_dir: Path) -> None:
    result = runner.invoke(app, ["ingest", "--dir", str(tiny_dir), "--dry-run",
                                 *_store_args(backend_spec)])
    assert result.exit_code == 0 and "23 rows valid" in result.output
    opened = backend_spec.open()
    assert opened.counts()["companies"] == 0
    opened.close()


def test_features_command_writes_one_row_per_company(backend_spec: Any, tiny_dir: Path,
                                                     tmp_path: Path) -> None:
    # Prepare
    runner.invoke(app, ["ingest", "--dir", str(tiny_dir), *_store_args(backend_spec)])
    out = tmp_path / "features.parquet"
    # Execute
    result = runner.invoke(app, ["features", "--out", str(out), *_store_args(backend_spec)])
    bad = runner.invoke(app, ["features", "--out", str(tmp_path / "f.xlsx"),
                              *_store_args(backend_spec)])
    # Assert
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert table["company_id"].tolist() == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert list(table.columns) == list(FEATURE_COLUMNS)
    assert table.set_index("company_id").loc["C1", "in_guarantee_circle"]
    assert bad.exit_code == 1 and "--out must end in .parquet or .csv" in bad.output


def test_features_of_an_empty_store_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["features", "--out", str(tmp_path / "f.csv"),
                                 "--store", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "holds no companies" in result.output
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.bolt
def test_password_comes_from_the_environment_and_is_never_printed(
        bolt_server: Any, tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare: the test server has no password, so a non-empty one is refused
    uri = bolt_server.uri
    args = ["stats", "--backend", "neo4j", "--uri", uri, "--user", "falkordb",
            "--password-env", "FEDCREDIT_TEST_PW"]
    # Execute
    unset = runner.invoke(app, args)
    monkeypatch.setenv("FEDCREDIT_TEST_PW", "hunter2-very-secret")
    wrong = runner.invoke(app, args)
    monkeypatch.setenv("FEDCREDIT_TEST_PW", "")
    right = runner.invoke(app, args)
    # Assert
    assert unset.exit_code == 1 and "FEDCREDIT_TEST_PW (--password-env) is not set" in (
        unset.output)
    assert wrong.exit_code == 1 and "hunter2" not in wrong.output
    assert right.exit_code == 0, right.output


def test_option_mix_ups_are_one_line_errors(tmp_path: Path) -> None:
    nx_with_uri = runner.invoke(app, ["stats", "--store", str(tmp_path), "--uri", "bolt://h:1"])
    bolt_with_store = runner.invoke(app, ["stats", "--backend", "neo4j", "--uri", "bolt://h:1",
                                          "--store", str(tmp_path)])
    missing_dir = runner.invoke(app, ["ingest", "--dir", str(tmp_path / "nope"),
                                      "--store", str(tmp_path)])
    unreachable = runner.invoke(app, ["stats", "--backend", "neo4j", "--uri",
                                      "bolt://127.0.0.1:9"])
    assert nx_with_uri.exit_code == 1 and "only --backend neo4j takes --uri" in nx_with_uri.output
    assert bolt_with_store.exit_code == 1 and "--store applies to --backend networkx" in (
        bolt_with_store.output)
    assert missing_dir.exit_code == 1 and "does not exist" in missing_dir.output
    assert unreachable.exit_code == 1 and "cannot reach Bolt server" in unreachable.output
    assert all("Traceback" not in r.output for r in (nx_with_uri, bolt_with_store, unreachable))
