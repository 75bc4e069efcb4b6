"""The coordinator cannot hold the private key, imports no torch, and members can verify runs."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from coordinator.codecs import EncryptionUnavailable, aggregation_codecs
from coordinator.config import CoordinatorConfig
from participant_node.verify import verify_records
from privacy.keys import generate_keypair, save_private_key, save_public_key

ROOT = Path(__file__).resolve().parents[1]


def test_coordinator_process_never_imports_torch_or_private_key_loaders() -> None:
    code = (
        "import sys, coordinator.server_app, coordinator.strategy, coordinator.codecs\n"
        "assert 'torch' not in sys.modules, 'coordinator imported torch'\n"
        "assert 'participant_node' not in sys.modules\n"
        "print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    sources = "\n".join(p.read_text() for p in (ROOT / "coordinator").glob("*.py"))
    for forbidden in ("load_private_key", "PaillierPrivateKey", "private-key", "private_key"):
        assert forbidden not in sources


def test_private_key_in_run_config_is_not_loadable(tmp_path: Path) -> None:
    pub, priv = generate_keypair(2048)
    save_public_key(tmp_path / "public_key.json", pub)
    save_private_key(tmp_path / "private_key.json", priv)
    cfg = CoordinatorConfig.from_run_config(
        {
            "public-key": str(tmp_path / "public_key.json"),
            "private-key": str(tmp_path / "private_key.json"),
            "private_key": str(tmp_path / "private_key.json"),
        }
    )
    assert "private_key.json" not in repr(dataclasses.asdict(cfg))
    codecs = aggregation_codecs(cfg)
    assert {c.scheme for c in codecs.values()} == {"paillier-packed"}
    assert all(not hasattr(c, "private_key") for c in codecs.values())


def test_paillier_without_public_key_fails_closed() -> None:
    with pytest.raises(EncryptionUnavailable, match="no public-key"):
        aggregation_codecs(CoordinatorConfig.from_run_config({}))


def _record(**over: object) -> dict[str, object]:
    entry = {"key_fingerprint": "sha256:k", "dp": True, "noise_multiplier": 1.0, "epsilon": 1.0}
    rec: dict[str, object] = {
        "round": 1,
        "scheme": "paillier-packed",
        "key_fingerprint": "sha256:k",
        "per_member": {"m1": entry},
    }
    rec.update(over)
    return rec


def test_verify_accepts_a_private_run() -> None:
    assert (
        verify_records([_record(), _record(round=2)], fingerprint="sha256:k", max_epsilon=3.0) == []
    )


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (_record(scheme="insecure-plaintext"), "not paillier-packed"),
        (_record(key_fingerprint="sha256:other"), "not the consortium key"),
        (
            _record(
                per_member={
                    "m1": {
                        "key_fingerprint": "sha256:k",
                        "dp": False,
                        "noise_multiplier": 0,
                        "epsilon": 1.0,
                    }
                }
            ),
            "did not report DP",
        ),
        (
            _record(
                per_member={
                    "m1": {
                        "key_fingerprint": "sha256:k",
                        "dp": True,
                        "noise_multiplier": 1.0,
                        "epsilon": 9.0,
                    }
                }
            ),
            "above 3.0",
        ),
    ],
)
def test_verify_flags_each_problem(record: dict[str, object], expected: str) -> None:
    problems = verify_records([record], fingerprint="sha256:k", max_epsilon=3.0)
    assert any(expected in p for p in problems), problems


def test_verify_flags_missing_rounds_and_empty_runs() -> None:
    assert (
        "not consecutive"
        in verify_records([_record(), _record(round=3)], fingerprint="sha256:k", max_epsilon=3.0)[0]
    )
    assert verify_records([], fingerprint="sha256:k", max_epsilon=3.0)
