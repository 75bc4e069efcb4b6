"""`fedcredit sim sweep` on the quick config: real Flower runs, output schema, sane numbers,
and resumability (a deleted row = a killed cell is re-run; finished cells are skipped)."""

import csv
import json
import math
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from simulations.cli import app
from simulations.experiments.grid import load_config
from simulations.experiments.sweep import COLUMNS, run_sweep

CONFIG = Path(__file__).resolve().parents[1] / "simulations" / "configs" / "quick-sweep.toml"


def check_png(path: Path) -> None:
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size[0] >= 400 and img.size[1] >= 300


class Killed(Exception):
    """Stands in for a kill signal arriving between two cells."""


@pytest.mark.slow
def test_quick_sweep_outputs_numbers_and_resume(tmp_path: Path) -> None:
    # Prepare: a sweep killed after its third cell (the callback runs once a row is on disk)
    out = tmp_path / "sweep"
    first: list[str] = []

    def kill_after_three(label: str) -> None:
        first.append(label)
        if len(first) == 3:
            raise Killed(label)

    with pytest.raises(Killed):
        run_sweep(load_config(CONFIG), out, show_progress=False, on_cell=kill_after_three)
    assert len(list(csv.DictReader((out / "results.csv").open()))) == 3
    assert not (out / "summary.json").exists()
    # Execute: the documented command on the same folder resumes it
    result = CliRunner().invoke(
        app, ["sim", "sweep", "--config", str(CONFIG), "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "ran 1 cells, skipped 3" in result.output
    # Assert: results.csv, one row per cell and seed, none run twice
    with (out / "results.csv").open() as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert tuple(reader.fieldnames or ()) == COLUMNS
    assert len(rows) == 4 and len({r["cell_id"] for r in rows}) == 4
    assert [r["cell_id"] for r in rows[:3]] == first
    assert {r["epsilon"] for r in rows} == {"0.3", "inf"}
    assert {r["seed"] for r in rows} == {"1", "2"}
    assert all(r["status"] == "completed" and r["rounds_completed"] == "3" for r in rows)
    assert all(r["encryption"] == "paillier-packed" for r in rows)
    for r in rows:
        assert 0.5 < float(r["auc"]) < 1 and abs(float(r["auc"]) - float(r["auc_exact"])) < 0.005
        assert int(r["bytes_per_member_per_round"]) > 0
        assert float(r["centralised_auc"]) > 0.5
    # baselines depend on the split and seed only: cells of one seed share them
    for seed in ("1", "2"):
        same = {(r["centralised_auc"], r["local_only_auc"]) for r in rows if r["seed"] == seed}
        assert len(same) == 1
    # the epsilon actually spent (from the attestations) is the target, never above
    private = [r for r in rows if r["epsilon"] == "0.3"]
    assert all(0.25 < float(r["epsilon_spent"]) <= 0.3 * 1.000001 for r in private)
    # summary.json: mean and 95% interval per grid point; AUC grows with epsilon
    summary = json.loads((out / "summary.json").read_text())
    assert {"cells", "dataset", "seeds", "versions", "machine", "config_fingerprint"} <= set(
        summary
    )
    cells = {c["epsilon"]: c for c in summary["cells"]}
    assert set(cells) == {0.3, "inf"}
    for c in cells.values():
        assert c["n"] == 2 and c["seeds"] == [1, 2]
        lo, hi = c["auc_ci95"]
        assert lo <= c["auc_mean"] <= hi
    assert cells["inf"]["auc_mean"] > cells[0.3]["auc_mean"]
    assert cells[0.3]["gap_to_non_private"] > 0 and cells["inf"]["gap_to_non_private"] == 0
    # plot and report
    check_png(out / "epsilon_auc.png")
    report = (out / "report.md").read_text()
    assert "![epsilon vs AUC](epsilon_auc.png)" in report
    for needle in ("data/lending_club.csv", "seeds: 1, 2", "flwr 1.42.0", "cores", "torch"):
        assert needle in report
    # Execute/Assert: a finished sweep runs nothing (and starts no Ray)
    ran: list[str] = []
    outcome = run_sweep(load_config(CONFIG), out, show_progress=False, on_cell=ran.append)
    assert ran == [] and outcome.executed == [] and len(outcome.skipped) == 4
    assert not math.isnan(json.loads((out / "summary.json").read_text())["cells"][0]["auc_mean"])


def test_sweep_refuses_an_out_folder_of_another_config(tmp_path: Path) -> None:
    # Prepare: OUT bound to a different config
    other = tmp_path / "other.toml"
    other.write_text(CONFIG.read_text().replace("rounds = 3", "rounds = 4"))
    out = tmp_path / "o"
    out.mkdir()
    (out / "experiment.json").write_text(
        json.dumps({"kind": "sweep", "name": "x", "fingerprint": load_config(other).fingerprint()})
    )
    # Execute
    result = CliRunner().invoke(
        app, ["sim", "sweep", "--config", str(CONFIG), "--out", str(out), "--quiet"]
    )
    # Assert: clear error, nothing run
    assert result.exit_code == 1
    assert "holds results of another experiment" in " ".join(result.output.split())
    assert not (out / "results.csv").exists()
