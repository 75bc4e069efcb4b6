"""The privacy benchmarks run in quick mode and write their result keys (so they never rot)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(name: str, out: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return dict(json.loads(out.read_text()))


@pytest.mark.slow
def test_dp_sgd_quick(tmp_path: Path) -> None:
    res = _run("dp_sgd", tmp_path / "dp.json")
    assert res["quick"] is True and float(res["slowdown"]) > 0  # type: ignore[arg-type]
    assert set(res["seconds_per_epoch"]["mlp"]) >= {"non_private", "fused", "ghost", "hooks"}  # type: ignore[index]


@pytest.mark.slow
def test_private_round_quick(tmp_path: Path) -> None:
    res = _run("private_round", tmp_path / "pr.json")
    assert "overhead_seconds" in res
    breakdown = res["overhead_seconds_breakdown_per_member"]
    assert set(breakdown) >= {"train", "encrypt", "aggregate", "decrypt_in", "decrypt_out"}  # type: ignore[arg-type]
    assert res["private_round_seconds"]["encrypt"] > res["plaintext_round_seconds"]["encrypt"]  # type: ignore[index]


@pytest.mark.slow
def test_utility_quick(tmp_path: Path) -> None:
    res = _run("utility", tmp_path / "u.json")
    for name in ("lending_club", "synthetic"):
        section = res[name]
        assert isinstance(section, dict)
        assert section["private"]["encryption"] == "paillier-packed"
        assert section["non_private"]["encryption"] == "insecure-plaintext"
        assert 0.5 < section["non_private"]["federated_auc"] <= 1.0
        assert "private_gap" in section
    assert "graph_lift" in res["synthetic"]  # type: ignore[operator]
