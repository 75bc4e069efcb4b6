"""Model artifact: checksum on load, export from a real run store (plaintext and Paillier)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from coordinator.state import Checkpoint, RunStore
from participant_node.codecs import EncryptionUnavailable, member_codecs
from participant_node.config import PrivacySettings
from participant_node.data import Contract, FeatureSpec
from participant_node.scoring import ArtifactError, Scorer, export_model, load_artifact
from participant_node.scoring.checkpoint import export_from_store, read_last_round
from privacy import InsecurePlaintextCodec, Payload
from privacy.keys import generate_keypair, save_private_key, save_public_key

CONTRACT = Contract(
    label="y",
    positive="1",
    negative="0",
    id_column="company_id",
    features=(
        FeatureSpec.numeric("x", center=0.0, scale=1.0),
        FeatureSpec.categorical("k", ["a", "b"]),
    ),
)
FLAT = np.array([0.5, 1.0, -1.0, -3.0])
ATTEST = [
    {
        "round": 1,
        "scheme": "paillier-packed",
        "key_bits": 3072,
        "key_fingerprint": "sha256:ab",
        "members": ["m1", "m2"],
        "per_member": {
            "m1": {"dp": True, "epsilon": 1.5, "delta": 1e-5},
            "m2": {"dp": True, "epsilon": 2.5, "delta": 1e-5},
        },
    }
]


def _export(path: Path) -> None:
    export_model(
        path, flat=FLAT, kind="logistic", hidden=0, contract=CONTRACT, run_id="r1", round=4,
        attestations=ATTEST,
    )  # fmt: skip


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    _export(tmp_path / "m.json")
    art = load_artifact(tmp_path / "m.json")
    assert art.params.tolist() == FLAT.tolist()
    assert art.contract == CONTRACT
    assert art.feature_names == ["x", "k=a", "k=b"]
    s = art.summary()
    assert s["run_id"] == "r1" and s["round"] == 4
    assert s["attestation"]["epsilon"] == 2.5 and s["attestation"]["dp"] is True
    assert s["attestation"]["members"] == ["m1", "m2"]


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "m.json"
    _export(f)
    doc = json.loads(f.read_text())
    doc["model"]["params"][0] = 9.0
    f.write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="SHA-256 mismatch"):
        load_artifact(f)


def test_contract_width_mismatch_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expects 4"):
        export_model(
            tmp_path / "m.json", flat=np.zeros(3), kind="logistic", hidden=0, contract=CONTRACT,
            run_id="r", round=1, attestations=[],
        )  # fmt: skip
    assert not (tmp_path / "m.json").exists()


def _store(path: Path, payload_of_round: list[Payload], config: Mapping[str, object]) -> None:
    with RunStore(path) as store:
        store.start_run("run-1", config)
        for rnd, payload in enumerate(payload_of_round, start=1):
            store.save_checkpoint(
                Checkpoint(
                    run_id="run-1", round=rnd, phase="train", payload=payload,
                    members=("m1", "m2"), failed=(), bytes_up=1, seconds=0.1,
                    attestation={**ATTEST[0], "round": rnd},
                )
            )  # fmt: skip


def test_export_from_plaintext_store_decodes_the_weighted_mean(tmp_path: Path) -> None:
    codec = InsecurePlaintextCodec()
    agg = codec.aggregate([codec.encode(FLAT, 3), codec.encode(np.zeros(4), 1)])  # Enc(w * params)
    first = codec.encode(np.zeros(4), 1)
    cfg = {"model": "logistic", "encryption": "none", "insecure-plaintext": True}
    _store(tmp_path / "rs.sqlite", [first, agg], cfg)
    art = export_from_store(
        tmp_path / "rs.sqlite", contract=CONTRACT, out=tmp_path / "m.json", private_key=None
    )
    assert art.round == 2 and art.run_id == "run-1"
    np.testing.assert_allclose(art.params, FLAT * 3 / 4)
    assert art.attestation["rounds"] == 2
    assert Scorer.load(tmp_path / "m.json").score_one({"company_id": "A", "x": 0, "k": "a"})


def test_export_from_paillier_store_and_fail_closed(tmp_path: Path) -> None:
    pub, priv = generate_keypair(2048)
    save_public_key(tmp_path / "public_key.json", pub)
    save_private_key(tmp_path / "private_key.json", priv)
    settings = PrivacySettings(public_key=str(tmp_path / "public_key.json"))
    codec = member_codecs(settings, tmp_path / "private_key.json").update
    payload = codec.aggregate([codec.encode(FLAT, 2), codec.encode(FLAT, 2)])
    cfg = {"model": "logistic", "encryption": "paillier", "public-key": "/elsewhere/pub.json"}
    _store(tmp_path / "rs.sqlite", [payload], cfg)
    with pytest.raises(EncryptionUnavailable, match="no consortium private key"):
        export_from_store(
            tmp_path / "rs.sqlite", contract=CONTRACT, out=tmp_path / "m.json",
            private_key=None, public_key=tmp_path / "public_key.json",
        )  # fmt: skip
    assert not (tmp_path / "m.json").exists()
    art = export_from_store(
        tmp_path / "rs.sqlite", contract=CONTRACT, out=tmp_path / "m.json",
        private_key=tmp_path / "private_key.json", public_key=tmp_path / "public_key.json",
    )  # fmt: skip
    np.testing.assert_allclose(art.params, FLAT, atol=1e-4)


def test_corrupted_checkpoint_is_refused(tmp_path: Path) -> None:
    codec = InsecurePlaintextCodec()
    _store(tmp_path / "rs.sqlite", [codec.encode(FLAT, 1)], {"model": "logistic"})
    with sqlite3.connect(tmp_path / "rs.sqlite") as conn:
        conn.execute("UPDATE checkpoints SET attestation_json = '{}'")
    with pytest.raises(ValueError, match="fails its SHA-256 checksum"):
        read_last_round(tmp_path / "rs.sqlite")
