"""The packed-Paillier benchmark runs in quick mode and writes a complete, sane JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "paillier_codec.py"


def test_quick_benchmark_writes_the_promised_keys(tmp_path: Path) -> None:
    # Execute
    out = tmp_path / "paillier_codec.json"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    result = json.loads(out.read_text())
    # Assert: keys, machine description, and properties that hold on any machine
    for key in ("speedup_packed", "speedup_fast", "bytes_per_param_vs_float32", "max_abs_error"):
        assert key in result
    assert {"cpu", "cores", "ram_gb", "python", "phe", "gmpy2"} <= set(result["machine"])
    assert result["mode"] == "quick" and result["insecure_key_for_speed"] is True
    assert result["targets_apply"] is False
    (case,) = result["cases"]
    assert case["key_bits"] == 1024 and case["params"] == 1000 and case["members"] == 3
    assert result["max_abs_error"] <= result["half_step"]
    # bytes are deterministic: 1024-bit key, 3 members -> 18-bit slots, 56 per ciphertext
    assert case["slot_bits"] == 18 and case["slots_per_ciphertext"] == 56
    assert case["packed"]["bytes_per_member"] == -(-1001 // 56) * 256
    assert result["bytes_reduction_vs_per_value"] > 50
    assert result["speedup_packed"] > 1 and result["speedup_fast"] > 1
