"""`fedcredit sim ablation` on the quick config: with/without graph features and contagion
overlay, and the isolate-the-top-k% capture, on a generated consortium."""

import csv
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from simulations.cli import app
from simulations.experiments.ablation import VARIANTS

CONFIG = Path(__file__).resolve().parents[1] / "simulations" / "configs" / "quick-ablation.toml"


@pytest.mark.slow
def test_quick_ablation_outputs_and_sane_numbers(tmp_path: Path) -> None:
    # Execute
    out = tmp_path / "ablation"
    result = CliRunner().invoke(
        app, ["sim", "ablation", "--config", str(CONFIG), "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    # Assert: four variants, one row each (one seed)
    with (out / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["variant"] for r in rows) == sorted(VARIANTS)
    by = {r["variant"]: r for r in rows}
    for r in rows:
        caps = [float(r[f"capture_top{k}"]) for k in (1, 5, 10)]
        assert caps == sorted(caps) and caps[0] >= 0 and caps[-1] <= 1  # monotone in k
        assert caps[-1] > 0.10  # better than a random ranking (captures k%)
        assert 0.5 < float(r["auc"]) < 1
    # same companies and defaults in every variant
    assert len({(r["companies"], r["defaults"]) for r in rows}) == 1
    # the graph helps on a consortium whose defaults depend on the graph
    assert float(by["graph features"]["auc"]) > float(by["no graph"]["auc"])
    summary = json.loads((out / "summary.json").read_text())
    assert [v["variant"] for v in summary["variants"]] == list(VARIANTS)
    assert summary["top_k_percent"] == [1, 5, 10]
    assert (out / "consortium" / "consortium.json").is_file()
    with Image.open(out / "ablation_topk.png") as img:
        img.verify()
    report = (out / "report.md").read_text()
    assert "![isolate the top k%](ablation_topk.png)" in report
    assert "synthetic consortium" in report and "machine:" in report
