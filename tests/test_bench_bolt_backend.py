"""The Bolt-backend benchmark runs end to end (small size) and writes its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.bolt
def test_small_benchmark_writes_results(tmp_path: Path) -> None:
    # Prepare
    out = tmp_path / "bolt_backend.json"
    # Execute: smaller than --quick to keep the suite fast; same code path
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bolt_backend.py"), "--quick",
         "--companies", "600", "--queries", "8", "--workers", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT, check=False,
    )  # fmt: skip
    # Assert
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(out.read_text())
    assert payload["quick"] is True and payload["machine"]["cores"] >= 1
    assert payload["ingest_edges_per_second"] > 0 and payload["query_p95_ms"] > 0
    (result,) = payload["results"]
    assert result["companies"] == 600 and result["bolt_dialect"] == "falkordb"
    assert result["bolt_workers"] == 1 and result["bolt_ingest"]["created"] > 600
    assert result["bolt_frames_match_source"] is True
    assert result["answers_identical"] is True
    assert result["bolt_reingest_wrote"] == 0
    assert "Bolt backend" in proc.stdout
