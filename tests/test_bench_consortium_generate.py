"""The consortium-generation benchmark runs end to end in quick mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_writes_results(tmp_path: Path) -> None:
    # Prepare
    out = tmp_path / "consortium_generate.json"
    # Execute
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "consortium_generate.py"), "--quick",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, check=False,
    )  # fmt: skip
    # Assert
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(out.read_text())
    assert payload["quick"] is True
    assert payload["machine"]["cores"] >= 1
    (result,) = payload["results"]
    assert result["companies"] == 2_000
    assert result["edges"] == result["shareholding_edges"] + result["guarantee_edges"] > 2_000
    assert result["cycle_membership"]["agree"] is True
    assert result["cycle_membership"]["companies_on_cycles"] > 0
    assert set(result["stage_seconds"]) == {
        "companies", "ownership", "guarantees", "labels", "members", "tables", "generate_other",
    }  # fmt: skip
    assert "consortium generation" in proc.stdout
