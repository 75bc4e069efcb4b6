"""A member asked again for a round it already released re-sends the same update.

A restarted coordinator may ask again for a round it never aggregated; the member's ledger was
charged once, so only the *same* noisy update may leave again (participant_node.replies).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.supercore.task_identity import TaskIdentity

from participant_node import client_app
from participant_node.partition import MemberPartition, save_partition, write_manifest
from participant_node.replies import CachedReply, ReplyCache, payload_digest_bytes
from privacy.ledger import BudgetLedger, dataset_fingerprint


def _member_dir(tmp: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3)).astype(np.float32)
    y = (x[:, 0] + rng.normal(size=300) > 1).astype(np.int8)
    parts = tmp / "parts"
    save_partition(MemberPartition("m0", x[:240], y[:240], x[240:], y[240:]), parts)
    write_manifest(parts, ["m0"])
    return parts


def _run_config(parts: Path) -> dict[str, object]:
    return {
        "num-server-rounds": 3,
        "encryption": "none",
        "insecure-plaintext": True,
        "batch-size": 64,
        "data-dir": str(parts),
        "run-id": "r1",
    }


def _train_message(server_round: int) -> Message:
    config = ConfigRecord({"server-round": server_round, "run-id": "r1", "round-nonce": "n"})
    return Message(RecordDict({"config": config}), dst_node_id=1, message_type="train")


def _params(reply: Message) -> np.ndarray:
    return np.concatenate(
        [a.numpy().ravel() for a in reply.content.array_records["arrays"].values()]
    )


def test_repeated_round_resends_the_same_update_and_charges_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TaskIdentity, "_run_id", 1)  # what the runtime sets for a message
    monkeypatch.setattr(TaskIdentity, "_node_id", 1)
    monkeypatch.setattr(TaskIdentity, "_task_id", 1)
    # Prepare: one member (plaintext codec for inspection; DP on by default)
    parts = _member_dir(tmp_path)
    ctx = Context(1, 1, {"partition-id": 0}, None, _run_config(parts))  # type: ignore[arg-type]
    # Execute: round 2 asked twice (a restarted coordinator), then round 3
    first = client_app.train(_train_message(2), ctx)
    again = client_app.train(_train_message(2), ctx)
    other = client_app.train(_train_message(3), ctx)
    # Assert: the same noisy update went out twice; round 3 drew fresh noise
    np.testing.assert_array_equal(_params(first), _params(again))
    assert not np.array_equal(_params(first), _params(other))
    ledger = BudgetLedger(parts / "ledgers" / "m0.sqlite", create=False)
    history = ledger.history(dataset_fingerprint(parts / "m0.npz"))
    assert [c.round for c in history] == [2, 3]  # one charge per released round


def test_cache_keys_separate_runs_rounds_and_inputs(tmp_path: Path) -> None:
    cache = ReplyCache(tmp_path / "c")
    agg = {"p": np.arange(4, dtype=np.int64)}
    k = ReplyCache.key("sha256:a", "r1", 2, payload_digest_bytes(agg))
    changed = {"p": np.arange(1, 5, dtype=np.int64)}
    others = {
        ReplyCache.key("sha256:b", "r1", 2, payload_digest_bytes(agg)),
        ReplyCache.key("sha256:a", "r2", 2, payload_digest_bytes(agg)),
        ReplyCache.key("sha256:a", "r1", 3, payload_digest_bytes(agg)),
        ReplyCache.key("sha256:a", "r1", 2, payload_digest_bytes(changed)),
        ReplyCache.key("sha256:a", "r1", 2, payload_digest_bytes(None)),
    }
    assert k not in others and len(others) == 5
    cache.put(k, CachedReply(np.ones(2, np.float32), 0.25, {"dp": 1.0}))
    got = cache.get(k)
    assert got is not None and got.loss == 0.25 and got.params.tolist() == [1.0, 1.0]
    assert all(cache.get(o) is None for o in others)
    # private to the member, and no temporary file left behind
    files = list((tmp_path / "c").iterdir())
    assert [f.suffix for f in files] == [".npz"]
    assert os.stat(files[0]).st_mode & 0o077 == 0


def test_cache_refuses_a_key_that_is_not_a_digest(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="64 hex digits"):
        ReplyCache(tmp_path).get("../../etc/passwd")
