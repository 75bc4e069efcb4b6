"""``benchmarks/deployment_round.py --quick`` runs real processes and writes its result keys."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_deployment_round_quick(tmp_path: Path) -> None:
    out = tmp_path / "deployment_round.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "deployment_round.py"), "--quick",
         "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT / "benchmarks", timeout=900, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["members"] == 3
    assert res["seconds_per_round_deployed"] > 0 and res["seconds_per_round_simulated"] > 0
    # the same three members' payloads travel in both runtimes
    assert res["bytes_up_per_member_per_round"] == res["bytes_up_per_member_per_round_simulated"]
    assert "deployment overhead" in proc.stdout
