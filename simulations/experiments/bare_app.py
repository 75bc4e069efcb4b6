"""Flower's bare simulation engine for the cost experiment: a no-op ClientApp under FedAvg.

``noop_client`` echoes the arrays it receives; ``noop_server`` runs Flower's ``FedAvg`` for
``num-server-rounds`` rounds over every node and appends the start time of each round to the
file named by the run config key ``timing-log``. This module imports Flower and numpy only, so
the engine's Ray workers start as fast as Flower allows (the member's app would add torch).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

noop_client = ClientApp()
noop_server = ServerApp()


def log_timing(context: Context, record: dict[str, Any]) -> None:
    """Append one JSON line to the run config's ``timing-log`` (no-op when unset); one short
    ``write`` in append mode, so lines from parallel Ray workers do not interleave."""
    path = str(context.run_config.get("timing-log", ""))
    if path:
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


@noop_client.train()
def noop_train(msg: Message, context: Context) -> Message:
    """Reply the received arrays unchanged (weight 1)."""
    arrays = msg.content.array_records["arrays"]
    content = RecordDict({"arrays": arrays, "metrics": MetricRecord({"num-examples": 1})})
    return Message(content=content, reply_to=msg)


@noop_client.evaluate()
def noop_evaluate(msg: Message, context: Context) -> Message:
    """Reply a constant metric."""
    content = RecordDict({"metrics": MetricRecord({"num-examples": 1, "loss": 0.0})})
    return Message(content=content, reply_to=msg)


class _StampedFedAvg(FedAvg):
    """FedAvg that records when each round starts."""

    def __init__(self, context: Context, nodes: int) -> None:
        super().__init__(min_available_nodes=nodes, min_train_nodes=nodes, min_evaluate_nodes=nodes)
        self.context = context

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Any:
        """Stamp the round start, then Flower's own sampling."""
        stamp = {"phase": "round", "round": server_round, "t": time.perf_counter()}
        log_timing(self.context, stamp)
        return super().configure_train(server_round, arrays, config, grid)


@noop_server.main()
def noop_main(grid: Grid, context: Context) -> None:
    """Flower's FedAvg over every node with one float as the model."""
    rounds = int(str(context.run_config.get("num-server-rounds", 3)))
    nodes = int(str(context.run_config.get("nodes", 2)))
    strategy = _StampedFedAvg(context, nodes)
    strategy.start(
        grid=grid, initial_arrays=ArrayRecord({"w": Array(np.zeros(1))}), num_rounds=rounds
    )
    log_timing(context, {"phase": "round", "round": rounds + 1, "t": time.perf_counter()})
