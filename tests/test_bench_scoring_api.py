"""The scoring-API benchmark runs end to end in quick mode and reports every promised key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "scoring_api.py"
KEYS = (
    "p99_ms",
    "requests_per_second",
    "batch_10k_seconds",
    "neighbourhood_p95_ms",
    "naive_requests_per_second",
    "throughput_ratio_vs_naive",
    "generic_ego_frames_p95_ms",
    "server_us_per_request",
    "naive_server_us_per_request",
    "server_speedup_vs_naive",
    "profile_top_own_time",
    "load_average_at_start",
    "related_parties_p95_ms",
    "related_parties_speedup_vs_uncached",
    "machine",
    "met",
)


def test_quick_run_measures_both_servers_and_the_graph(tmp_path: Path) -> None:
    out = tmp_path / "scoring_api.json"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--out",
            str(out),
            "--cache",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    assert "scoring_api" in done.stdout
    result = json.loads(out.read_text())
    assert all(key in result for key in KEYS)
    assert result["companies"] == 2000 and result["quick"] is True
    assert result["load_tool"] == "python-httpx-16-threads"
    assert float(result["requests_per_second"]) > 0 and float(result["p99_ms"]) > 0
    assert float(result["batch_10k_seconds"]) > 0
    assert result["neighbourhood_queries"] == 100
    assert float(result["server_us_per_request"]) > 0 and result["profile_top_own_time"]
    assert len(result["load_average_at_start"]) == 3 and "load_average_1m" in result["machine"]
    # every request of the load test (16 x (3 warm-up + 15)) and the batch was audited and
    # the chain verifies
    assert result["audit_chain_verified"] is True
    assert int(result["audit_entries"]) == 16 * 18 + 1


def test_bad_size_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--companies", "3", "--out", str(tmp_path / "x.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "--companies must be >= 100" in done.stderr
    assert not (tmp_path / "x.json").exists()
