"""Member-side export: decrypt a run's last training checkpoint into a model file.

The coordinator's run store (SQLite; schema and checksum rule in ``coordinator/state.py``) is
what the association publishes to its members for a run. ``participant_node`` must not import
``coordinator`` (package arrows), so this module reads the store *read-only* with ``sqlite3``
and re-checks each checkpoint's SHA-256 (over the blob and its attestation record) exactly as
the coordinator does; a test cross-checks it against ``coordinator.state.RunStore``. Only a key
holder can decode the aggregate: the private key never leaves the member.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from participant_node.codecs import member_codecs
from participant_node.config import MemberConfig
from participant_node.data import Contract
from participant_node.graph_join import GRAPH_FEATURES
from participant_node.scoring.artifact import ModelArtifact, export_model
from privacy import Payload


@dataclass(frozen=True)
class StoredRound:
    """The last training aggregate of a run, with the run config and all attestations."""

    run_id: str
    round: int
    payload: Payload
    run_config: Mapping[str, Any]
    attestations: list[dict[str, Any]]


def read_last_round(store: str | Path, run_id: str | None = None) -> StoredRound:
    """Read (and checksum) the last ``train`` checkpoint of ``run_id`` (default: newest run)."""
    path = Path(store)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no run store")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if run_id is None:
            row = conn.execute(
                "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1"
            ).fetchone()
            if row is None:
                raise ValueError(f"{path}: the run store holds no run")
            run_id = str(row[0])
        cfg = conn.execute("SELECT config_json FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if cfg is None:
            raise ValueError(f"{path}: no run {run_id!r}")
        rows = conn.execute(
            "SELECT round, meta_json, blob, sha256, attestation_json FROM checkpoints "
            "WHERE run_id=? AND phase='train' ORDER BY round",
            (run_id,),
        ).fetchall()
    finally:
        conn.close()
    if not rows:
        raise ValueError(f"{path}: run {run_id!r} has no aggregated training round")
    attestations = []
    for rnd, _, blob, digest, att in rows:
        h = hashlib.sha256(blob)
        if att is not None:
            h.update(att.encode())
            attestations.append(json.loads(att))
        if h.hexdigest() != digest:
            raise ValueError(
                f"{path}: checkpoint of run {run_id!r} round {rnd} fails its SHA-256 checksum; "
                "refusing to load a corrupted aggregate"
            )
    rnd, meta, blob, _, _ = rows[-1]
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return StoredRound(
        run_id=run_id,
        round=int(rnd),
        payload=Payload(arrays=arrays, meta=json.loads(meta)),
        run_config=json.loads(cfg[0]),
        attestations=attestations,
    )


def export_from_store(
    store: str | Path,
    *,
    contract: Contract,
    out: str | Path,
    private_key: str | Path | None,
    public_key: str | Path | None = None,
    run_id: str | None = None,
    reference: np.ndarray | None = None,
) -> ModelArtifact:
    """Decrypt the last round with the member's key and write the model file ``out``.

    ``public_key`` overrides the path recorded in the run config (the member's own copy).
    Fails closed: an encrypted run without a matching private key raises, never decodes.
    """
    stored = read_last_round(store, run_id)
    cfg = MemberConfig.from_run_config(stored.run_config)
    privacy = cfg.privacy
    if public_key is not None:
        privacy = replace(privacy, public_key=str(public_key))
    codecs = member_codecs(privacy, Path(private_key) if private_key is not None else None)
    flat = codecs.update.decode(stored.payload).mean()
    return export_model(
        out,
        flat=flat,
        kind=cfg.model_kind,
        hidden=cfg.mlp_hidden,
        contract=contract,
        run_id=stored.run_id,
        round=stored.round,
        attestations=stored.attestations,
        graph_feature_columns=[c for c in GRAPH_FEATURES if c in contract.feature_names],
        reference=reference,
    )
