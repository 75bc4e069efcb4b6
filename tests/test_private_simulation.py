"""Private by default on Flower's engine: packed Paillier + DP-SGD + budget ledger + attestation."""

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from coordinator.state import RunStore
from participant_node.config import PrivacySettings
from participant_node.partition import MemberPartition, save_partition, write_manifest
from privacy.keys import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    fingerprint,
    generate_keypair,
    save_private_key,
    save_public_key,
)
from privacy.ledger import Budget, BudgetLedger, dataset_fingerprint
from simulations.engine import run_simulation

DEFAULT_CLIP = {f.name: f.default for f in fields(PrivacySettings)}["clip_norm"]


def _setup(tmp: Path, n_members: int = 3) -> str:
    rng = np.random.default_rng(1)
    w = rng.normal(size=4)
    parts = tmp / "parts"
    ids = []
    for i in range(n_members):
        n = 800
        x = rng.normal(size=(n, 4)).astype(np.float32)
        y = (rng.random(n) < 1 / (1 + np.exp(-(x @ w - 1.5)))).astype(np.int8)
        save_partition(MemberPartition(f"m{i}", x[:640], y[:640], x[640:], y[640:]), parts)
        ids.append(f"m{i}")
    write_manifest(parts, ids)
    pub, priv = generate_keypair(2048)
    (tmp / "keys").mkdir()
    save_public_key(tmp / "keys" / PUBLIC_KEY_FILE, pub)
    (parts / "secrets").mkdir()
    save_private_key(parts / "secrets" / PRIVATE_KEY_FILE, priv)
    return fingerprint(pub)


def _config(tmp: Path, rounds: int) -> dict[str, str | int | float | bool]:
    return {
        "num-server-rounds": rounds,
        "min-members": 2,
        "round-timeout": 120.0,
        "model": "logistic",
        "model-seed": 3,
        "local-epochs": 1,
        "batch-size": 64,
        "learning-rate": 0.05,
        "hist-bins": 1024,
        "data-dir": str(tmp / "parts"),
        "run-store": str(tmp / "store.sqlite"),
        "run-id": "p1",
        "public-key": str(tmp / "keys" / PUBLIC_KEY_FILE),
        "epsilon": 2.0,
    }


@pytest.mark.slow
def test_private_run_is_attested_and_charged_before_sending(tmp_path: Path) -> None:
    # Prepare: keys from a ceremony; default privacy settings (paillier + DP)
    fp = _setup(tmp_path)
    # Execute
    run_simulation(_config(tmp_path, rounds=2), 3, tmp_path / "app")
    # Assert: every round attested as encrypted and DP with the consortium key
    with RunStore(tmp_path / "store.sqlite") as store:
        records = store.attestations("p1")
        assert store.run("p1")["status"] == "completed"
    assert [r["round"] for r in records] == [1, 2]
    for r in records:
        assert r["scheme"] == "paillier-packed"
        assert r["key_fingerprint"] == fp and r["key_bits"] == 2048
        assert sorted(r["members"]) == ["m0", "m1", "m2"]
        for entry in r["per_member"].values():
            assert entry["dp"] is True and entry["key_fingerprint"] == fp
            assert entry["noise_multiplier"] > 0
            assert entry["clip_norm"] == DEFAULT_CLIP  # the run config sets none
            assert entry["ciphertexts"] >= 1
    # epsilon composes over rounds and stays within the target
    e1 = records[0]["per_member"]["m0"]["epsilon"]
    e2 = records[1]["per_member"]["m0"]["epsilon"]
    assert 0 < e1 < e2 <= 2.0 * 1.000001
    # the ledger recorded both rounds (charged before the reply left the member)
    ledger = BudgetLedger(tmp_path / "parts" / "ledgers" / "m0.sqlite", create=False)
    dataset = dataset_fingerprint(tmp_path / "parts" / "m0.npz")
    assert [c.round for c in ledger.history(dataset)] == [1, 2]
    assert json.dumps(records)  # JSON-serialisable for attestations.jsonl


@pytest.mark.slow
def test_member_over_budget_refuses_and_the_run_continues(tmp_path: Path) -> None:
    # Prepare: m2's ledger already holds a tiny budget for its data
    _setup(tmp_path)
    ledger = BudgetLedger(tmp_path / "parts" / "ledgers" / "m2.sqlite")
    dataset = dataset_fingerprint(tmp_path / "parts" / "m2.npz")
    ledger.set_budget(dataset, Budget(0.01, 1e-5))
    # Execute
    run_simulation(_config(tmp_path, rounds=2), 3, tmp_path / "app")
    # Assert: m2 refused every round, nothing charged; the others carried the run
    with RunStore(tmp_path / "store.sqlite") as store:
        records = store.attestations("p1")
        assert store.run("p1")["status"] == "completed"
    assert [sorted(r["members"]) for r in records] == [["m0", "m1"], ["m0", "m1"]]
    assert all(len(r["refused"]) == 1 and r["refused"][0].startswith("m2") for r in records)
    assert ledger.history(dataset) == []
