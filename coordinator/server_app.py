"""The association's Flower ServerApp: secure-sum FedAvg over the run store.

The ServerApp never imports torch and never holds a private key: round 1 sends only a model
seed, later rounds send the previous round's aggregate exactly as stored.

Resume: when the run store already holds the run (same ``run-id``), the ServerApp starts at the
round after the last stored training round, from that round's stored aggregate; a coordinator
killed mid-run therefore loses at most the round in progress and applies no round twice. A
member's ledger charge is keyed by (data, run id, round), so the repeated round is not charged
again (``participant_node.client_app``).
"""

from __future__ import annotations

import json
import logging
import uuid
from logging import INFO, WARNING
from pathlib import Path

from flwr.app import ArrayRecord, ConfigRecord, Context
from flwr.common.logger import log
from flwr.serverapp import Grid, ServerApp

from coordinator.codecs import aggregation_codecs
from coordinator.config import CoordinatorConfig
from coordinator.records import payload_records
from coordinator.state import RunStore, RunStoreError
from coordinator.store_sql import redact
from coordinator.strategy import SecureSumFedAvg

app = ServerApp()


def node_names(members_file: str) -> dict[int, str]:
    """``node_id -> member`` from the coordinator's ``members.json`` (empty when not given)."""
    if not members_file:
        return {}
    path = Path(members_file)
    try:
        doc = json.loads(path.read_text())
        return {int(v["node_id"]): str(k) for k, v in doc["members"].items() if "node_id" in v}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a members file ({exc})") from exc


def run_federation(grid: Grid, context: Context) -> str:
    """Run (or resume) all rounds; return the run id. The run store records every round."""
    cfg = CoordinatorConfig.from_run_config(context.run_config)
    run_id = str(context.run_config.get("run-id", "") or uuid.uuid4().hex[:12])
    insecure = cfg.transport.upper() == "INSECURE"
    tag = "INSECURE transport (no TLS): " if insecure else ""
    handler = _file_log(cfg.log_file, tag)
    try:
        return _run(grid, context, cfg, run_id, tag)
    finally:
        if handler is not None:
            logging.getLogger("flwr").removeHandler(handler)
            handler.close()


def _file_log(path: str, tag: str) -> logging.Handler | None:
    """Also write the ServerApp's log to ``path`` (every line tagged when insecure)."""
    if not path:
        return None
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {tag}%(message)s"))
    logging.getLogger("flwr").addHandler(handler)
    return handler


def _run(grid: Grid, context: Context, cfg: CoordinatorConfig, run_id: str, tag: str) -> str:
    codecs = aggregation_codecs(cfg)
    insecure = bool(tag)
    with RunStore(cfg.run_store) as store:
        first = _first_round(store, run_id)
        if first > cfg.num_rounds:
            log(INFO, "%sfedcredit run %s: all %d rounds already recorded", tag, run_id, first - 1)
            return run_id
        store.start_run(run_id, dict(context.run_config))
        strategy = SecureSumFedAvg(
            codecs,
            store,
            run_id,
            cfg.min_members,
            round_timeout=cfg.round_timeout,
            max_reply_bytes=cfg.max_reply_bytes,
            node_names=node_names(cfg.members_file),
        )
        log(
            INFO if not insecure else WARNING,
            "%sfedcredit run %s: rounds %d..%d, codec %s, store %s",
            tag,
            run_id,
            first,
            cfg.num_rounds,
            codecs["train"].scheme,
            redact(cfg.run_store),
        )
        arrays = ArrayRecord()
        if first > 1:
            arrays = _resume_from(store, strategy, run_id, first - 1)
            evals = store.checkpoints(run_id, "evaluate")
            if cfg.evaluate and (not evals or evals[-1].round < first - 1):
                strategy.evaluate_round(grid, first - 1, arrays)
        seed_config = ConfigRecord({"model-seed": cfg.model_seed})
        try:
            stalled = strategy.run(
                grid,
                first_round=first,
                num_rounds=cfg.num_rounds,
                arrays=arrays,
                train_config=seed_config,
                evaluate=cfg.evaluate,
            )
        except Exception as exc:
            store.finish_run(run_id, "failed", f"{type(exc).__name__}: {exc}")
            raise
        if stalled:
            store.finish_run(run_id, "stalled", stalled)
            log(WARNING, "%sfedcredit run %s stalled: %s", tag, run_id, stalled)
        else:
            reason = "; ".join(r for _, r in strategy.failed_rounds)
            store.finish_run(run_id, "completed", reason)
            log(INFO, "%sfedcredit run %s completed", tag, run_id)
    return run_id


def _first_round(store: RunStore, run_id: str) -> int:
    try:
        store.run(run_id)
    except RunStoreError:
        return 1  # a new run
    return store.resume_round(run_id)


def _resume_from(
    store: RunStore, strategy: SecureSumFedAvg, run_id: str, last_round: int
) -> ArrayRecord:
    """The stored aggregate of ``last_round`` (checksum verified) as the next round's input."""
    cp = store.last_checkpoint(run_id, "train")
    if cp is None or cp.round != last_round:
        raise RunStoreError(f"run {run_id!r}: no stored aggregate for round {last_round}")
    arrays, _ = payload_records(cp.payload)
    strategy.current_meta = dict(cp.payload.meta)
    log(INFO, "fedcredit run %s: resuming after round %d (stored aggregate)", run_id, last_round)
    return arrays


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Flower entry point (``[tool.flwr.app.components] serverapp``)."""
    run_federation(grid, context)
