"""The main job (`make demo` runs `fedcredit demo`) on a small consortium."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulations.cli import app


@pytest.mark.slow
def test_demo_generates_trains_and_reports(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--companies", "3000",
                                      "--rounds", "3"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "consortium" / "guarantees.csv").is_file()
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert len(report["members"]) == 5
    assert report["federated"]["rounds_completed"] == 3
    assert 0.5 < report["federated"]["auc"] <= 1.0
    assert "federated" in result.output and "centralised" in result.output
