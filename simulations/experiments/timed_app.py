"""Flower apps for the cost experiment: the member's ClientApp wrapped with a stopwatch, and
Flower's bare engine (a no-op ClientApp under plain FedAvg) for comparison.

``timed_app`` runs the project's own train/evaluate handlers unchanged and appends one JSON
line per call to the file named by the run config key ``timing-log``: phase, round, member,
handler seconds, and (train) the member's own DP-SGD and encryption seconds it reports. Lines
are short single ``write`` calls in append mode, so the Ray workers' lines do not interleave.

``noop_client`` echoes the arrays it receives; ``noop_server`` runs Flower's ``FedAvg`` for
``num-server-rounds`` rounds over every node and appends the start time of each round to
``timing-log``.
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

from participant_node import client_app as member

timed_app = ClientApp()
noop_client = ClientApp()
noop_server = ServerApp()


def _log(context: Context, record: dict[str, Any]) -> None:
    path = str(context.run_config.get("timing-log", ""))
    if path:
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def _round(msg: Message) -> int:
    config = msg.content.config_records.get(member.CONFIG_KEY)
    return int(str(config.get("server-round", 0))) if config is not None else 0


def _timed(phase: str, msg: Message, context: Context) -> Message:
    t0 = time.perf_counter()
    reply = member.train(msg, context) if phase == "train" else member.evaluate(msg, context)
    seconds = time.perf_counter() - t0
    metrics = reply.content.metric_records.get("metrics")
    m = {k: v for k, v in (metrics or {}).items() if isinstance(v, int | float)}
    _log(
        context,
        {
            "phase": phase,
            "round": _round(msg),
            "partition": int(str(context.node_config.get("partition-id", -1))),
            "seconds": seconds,
            "train": float(m.get("train-seconds", 0.0)),
            "encrypt": float(m.get("encode-seconds", 0.0)),
        },
    )
    return reply


@timed_app.train()
def timed_train(msg: Message, context: Context) -> Message:
    """The member's train handler, timed."""
    return _timed("train", msg, context)


@timed_app.evaluate()
def timed_evaluate(msg: Message, context: Context) -> Message:
    """The member's evaluate handler, timed."""
    return _timed("evaluate", msg, context)


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
        _log(self.context, {"phase": "round", "round": server_round, "t": time.perf_counter()})
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
    _log(context, {"phase": "round", "round": rounds + 1, "t": time.perf_counter()})
