"""The association's Flower ServerApp: secure-sum FedAvg over the run store.

The ServerApp never imports torch and never holds a private key: round 1 sends only a model
seed, later rounds send the previous round's aggregate exactly as stored.
"""

from __future__ import annotations

import uuid
from logging import INFO

from flwr.app import ArrayRecord, ConfigRecord, Context
from flwr.common.logger import log
from flwr.serverapp import Grid, ServerApp

from coordinator.codecs import aggregation_codecs
from coordinator.config import CoordinatorConfig
from coordinator.state import RunStore
from coordinator.strategy import SecureSumFedAvg

app = ServerApp()


def run_federation(grid: Grid, context: Context) -> str:
    """Run all rounds; return the run id. The run store records every round."""
    cfg = CoordinatorConfig.from_run_config(context.run_config)
    run_id = str(context.run_config.get("run-id", "") or uuid.uuid4().hex[:12])
    codecs = aggregation_codecs(cfg)
    with RunStore(cfg.run_store) as store:
        store.start_run(run_id, dict(context.run_config))
        strategy = SecureSumFedAvg(codecs, store, run_id, cfg.min_members)
        log(
            INFO,
            "fedcredit run %s: %d rounds, codec %s, store %s",
            run_id,
            cfg.num_rounds,
            codecs["train"].scheme,
            cfg.run_store,
        )
        seed_config = ConfigRecord({"model-seed": cfg.model_seed, "run-id": run_id})
        try:
            strategy.start(
                grid=grid,
                initial_arrays=ArrayRecord(),
                num_rounds=cfg.num_rounds,
                timeout=cfg.round_timeout,
                train_config=seed_config,
                evaluate_config=ConfigRecord({"run-id": run_id}),
            )
        except Exception as exc:
            store.finish_run(run_id, "failed", f"{type(exc).__name__}: {exc}")
            raise
        if store.last_checkpoint(run_id, "train") is None:
            store.finish_run(run_id, "stalled", "; ".join(r for _, r in strategy.failed_rounds))
        else:
            reason = "; ".join(r for _, r in strategy.failed_rounds)
            store.finish_run(run_id, "completed", reason)
    return run_id


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Flower entry point (``[tool.flwr.app.components] serverapp``)."""
    run_federation(grid, context)
