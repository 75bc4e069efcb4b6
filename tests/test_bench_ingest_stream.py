"""The ingest benchmark runs end to end in --quick mode into a temporary results file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ingest_stream_quick(tmp_path: Path) -> None:
    out = tmp_path / "ingest_stream.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "ingest_stream.py"),
            "--quick",
            "--size-mb",
            "8",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    runs = doc["runs"]
    assert set(runs) == {"ours", "naive"}
    assert runs["ours"]["rows"] == runs["naive"]["rows"] == doc["rows"] > 0
    assert runs["ours"]["ok"] and runs["ours"]["errors"] == 0
    assert doc["ratios"]["rss_naive_over_ours"] > 0
    assert doc["encode"]["width"] == 119 and doc["machine"]["cores"] >= 1
    assert "naive/ours" in proc.stdout
