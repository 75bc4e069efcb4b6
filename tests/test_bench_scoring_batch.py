"""The batch-scoring benchmark runs in quick mode and writes a complete, sane JSON."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "scoring_batch.py"


def test_quick_benchmark_writes_the_promised_keys(tmp_path: Path) -> None:
    # Execute
    out = tmp_path / "scoring_batch.json"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result = json.loads(out.read_text())
    # Assert: machine, mode, both models; properties that hold on any machine (no timings)
    assert {"cpu", "cores", "ram_gb", "load_average_1m", "numpy"} <= set(result["machine"])
    assert result["mode"] == "quick" and result["rows"] == 1000
    assert result["targets_apply"] is False
    assert set(result["models"]) == {"logistic", "mlp"}
    for m in result["models"].values():
        assert m["rows"] == 1000
        for key in ("attribution", "batch"):
            prev, ours = m[f"{key}_previous_s"], m[f"{key}_ours_s"]
            assert prev >= 0 and ours >= 0 and math.isfinite(m[f"{key}_speedup"])
        # both methods give the same attributions and satisfy completeness
        assert m["max_abs_diff_vs_previous"] <= 1e-9 * (1 + m["max_abs_logit_gap"])
        assert m["completeness_max_error"] <= 1e-9 * (1 + m["max_abs_logit_gap"])
        assert m["first_200_results_identical"] is True
    mlp = result["models"]["mlp"]
    assert 0 < mlp["layer1_kinks_mean"] <= mlp["layer1_kinks_max"] <= result["hidden"]
