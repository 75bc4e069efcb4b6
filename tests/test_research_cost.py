"""`fedcredit sim cost` on the quick config: timed private runs on Flower, the breakdown, and
Flower's bare engine for comparison."""

import csv
import json
import math
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from simulations.cli import app
from simulations.experiments.cost import COLUMNS

CONFIG = Path(__file__).resolve().parents[1] / "simulations" / "configs" / "quick-cost.toml"


@pytest.mark.slow
def test_quick_cost_outputs_and_breakdown(tmp_path: Path) -> None:
    # Execute
    out = tmp_path / "cost"
    result = CliRunner().invoke(
        app, ["sim", "cost", "--config", str(CONFIG), "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    # Assert: one row per member count
    with (out / "results.csv").open() as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert tuple(reader.fieldnames or ()) == COLUMNS
    assert [int(r["members"]) for r in rows] == [3, 6]
    for r in rows:
        assert int(r["rounds"]) == 3
        assert float(r["train_ms"]) > 0 and float(r["encrypt_ms"]) > 0
        assert float(r["evaluate_ms"]) > 0
        assert math.isfinite(float(r["engine_ms"]))
        assert float(r["wall_seconds"]) > float(r["seconds_per_round"]) > 0
        assert 0 < float(r["epsilon_spent"]) <= 3.0 * 1.000001  # private run, attested
    # the same model and layout: every member sends the same bytes whatever the member count
    assert rows[0]["bytes_per_member_per_round"] == rows[1]["bytes_per_member_per_round"]
    assert int(rows[0]["parameters"]) > 10
    summary = json.loads((out / "summary.json").read_text())
    bare = summary["bare_engine"]
    assert [b["members"] for b in bare] == [3, 6]
    assert all(b["engine_ms"] > 0 and b["rounds"] == 3 for b in bare)
    assert math.isfinite(summary["marginal_engine_ms_per_member"])
    assert math.isfinite(summary["bare_engine_marginal_ms_per_member"])
    assert {"runs", "ray", "dataset", "seeds", "versions", "machine"} <= set(summary)
    with Image.open(out / "cost_members.png") as img:
        img.verify()
    report = (out / "report.md").read_text()
    assert "![cost vs members](cost_members.png)" in report
    assert "bare engine" in report and "machine:" in report and "seeds: 1" in report
