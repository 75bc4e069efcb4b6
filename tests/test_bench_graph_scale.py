"""The graph-scale benchmark runs end to end in quick mode and reports what it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "graph_scale.py"
KEYS = (
    "feature_table_seconds",
    "peak_rss_gb",
    "cycle_speedup_vs_networkx",
    "identical_cycles",
    "components_speedup_vs_networkx",
    "machine",
)


def run_benchmark(out: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "graph_scale" in done.stdout
    result: dict[str, object] = json.loads(out.read_text())
    return result


def test_quick_run_writes_every_key_with_identical_results(tmp_path: Path) -> None:
    result = run_benchmark(tmp_path / "graph_scale.json", "--quick")

    assert all(key in result for key in KEYS)
    assert result["companies"] == 5000
    assert result["identical_cycles"] is True
    assert result["identical_components"] is True
    assert result["cycle_networkx_sampled"] is False
    assert result["circles"] == result["cycles_compared"]
    assert 0 < float(result["peak_rss_gb"]) < 3  # type: ignore[arg-type]
    assert set(result["feature_stage_seconds"]) >= {"circles", "contagion"}  # type: ignore[arg-type]


def test_networkx_over_budget_is_timed_on_a_sample(tmp_path: Path) -> None:
    result = run_benchmark(
        tmp_path / "sampled.json", "--companies", "3000", "--networkx-budget", "0"
    )

    assert result["cycle_networkx_sampled"] is True
    assert float(result["cycle_networkx_scale_factor"]) >= 1.0  # type: ignore[arg-type]
    assert 0 < int(result["cycles_compared"]) <= int(result["circles"])  # type: ignore[call-overload]
    assert result["identical_cycles"] is True


def test_bad_size_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--companies", "3", "--out", str(tmp_path / "x.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode != 0
    assert "--companies must be >= 10" in done.stderr
    assert not (tmp_path / "x.json").exists()
