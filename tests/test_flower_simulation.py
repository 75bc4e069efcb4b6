"""A real 3-round federated run on Flower's simulation engine (Ray backend)."""

import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from coordinator.state import RunStore
from participant_node.metrics import HistogramMetrics, unpack_histograms
from participant_node.model import ModelSpec, build_from_spec, predict_proba, set_flat
from participant_node.partition import MemberPartition, save_partition, write_manifest
from privacy import InsecurePlaintextCodec
from simulations.engine import run_simulation

N_FEATURES = 5


def _make_members(directory: Path, n_members: int, seed: int = 0) -> list[MemberPartition]:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=N_FEATURES)
    parts = []
    for i in range(n_members):
        n = 600 + 300 * i
        x = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
        y = (rng.random(n) < 1 / (1 + np.exp(-(x @ w - 1.5)))).astype(np.int8)
        cut = int(0.8 * n)
        parts.append(MemberPartition(f"m{i}", x[:cut], y[:cut], x[cut:], y[cut:]))
        save_partition(parts[-1], directory)
    write_manifest(directory, [p.member_id for p in parts])
    return parts


def _config(tmp: Path, rounds: int, min_members: int) -> dict[str, str | int | float | bool]:
    return {
        "num-server-rounds": rounds,
        "min-members": min_members,
        "round-timeout": 120.0,
        "model": "logistic",
        "mlp-hidden": 8,
        "model-seed": 3,
        "local-epochs": 1,
        "batch-size": 32,
        "learning-rate": 0.05,
        "momentum": 0.9,
        "hist-bins": 4096,
        "encryption": "none",
        "insecure-plaintext": True,
        "data-dir": str(tmp / "parts"),
        "run-store": str(tmp / "store.sqlite"),
        "run-id": "t1",
        "dp": False,
    }


@pytest.mark.slow
def test_three_round_simulation_and_exact_federated_auc(tmp_path: Path) -> None:
    # Prepare: three members with different sizes
    parts = _make_members(tmp_path / "parts", 3)
    # Execute: Flower's simulation engine runs ServerApp + 3 ClientApps
    run_simulation(_config(tmp_path, rounds=3, min_members=3), 3, tmp_path / "app")
    # Assert: three train and three evaluate checkpoints, every member in each
    codec = InsecurePlaintextCodec()
    with RunStore(tmp_path / "store.sqlite") as store:
        trains = store.checkpoints("t1", "train")
        evals = store.checkpoints("t1", "evaluate")
        assert store.run("t1")["status"] == "completed"
    assert [c.round for c in trains] == [1, 2, 3] and [c.round for c in evals] == [1, 2, 3]
    assert all(sorted(c.members) == ["m0", "m1", "m2"] for c in trains)
    # the summed weight is the members' FedAvg weights (training rows in units of 100)
    assert codec.decode(trains[-1].payload).weight == sum(
        math.ceil(len(p.y_train) / 100) for p in parts
    )
    # federated AUC from summed histograms == pooled AUC of the decoded global model
    model = build_from_spec(ModelSpec("logistic", N_FEATURES), seed=3)
    set_flat(model, codec.decode(trains[-1].payload).mean())
    x = np.concatenate([p.x_holdout for p in parts])
    y = np.concatenate([p.y_holdout for p in parts])
    pooled = roc_auc_score(y, predict_proba(model, x))
    pos, neg = unpack_histograms(codec.decode(evals[-1].payload).values)
    fed = HistogramMetrics.from_histograms(pos, neg)
    assert abs(fed.auc - pooled) <= 0.002
    assert fed.auc > 0.7
    assert fed.positives + fed.negatives == len(y)


@pytest.mark.slow
def test_broken_member_is_left_out_and_recorded(tmp_path: Path) -> None:
    # Prepare: member m2's data file is corrupted; min-members 2 of 3
    _make_members(tmp_path / "parts", 3)
    (tmp_path / "parts" / "m2.npz").write_bytes(b"corrupted")
    # Execute
    run_simulation(_config(tmp_path, rounds=2, min_members=2), 3, tmp_path / "app")
    # Assert: rounds complete with the two healthy members; the failure is recorded
    with RunStore(tmp_path / "store.sqlite") as store:
        trains = store.checkpoints("t1", "train")
    assert [c.round for c in trains] == [1, 2]
    assert all(sorted(c.members) == ["m0", "m1"] for c in trains)
    assert all(len(c.failed) == 1 for c in trains)


@pytest.mark.slow
def test_too_few_members_stalls_without_a_checkpoint(tmp_path: Path) -> None:
    _make_members(tmp_path / "parts", 2)
    (tmp_path / "parts" / "m1.npz").write_bytes(b"corrupted")
    run_simulation(_config(tmp_path, rounds=1, min_members=2), 2, tmp_path / "app")
    with RunStore(tmp_path / "store.sqlite") as store:
        assert store.checkpoints("t1", "train") == []
        run = store.run("t1")
    assert run["status"] == "stalled"
    assert "fewer than min-members=2" in str(run["reason"])
