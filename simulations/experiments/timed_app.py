"""The cost experiment's member app: the member's ClientApp wrapped with a stopwatch.

``timed_app`` runs the project's own train/evaluate handlers unchanged and appends one JSON
line per call to the file named by the run config key ``timing-log``: phase, round, member,
handler seconds, and (train) the member's own DP-SGD and encryption seconds it reports. Lines
are short single ``write`` calls in append mode, so the Ray workers' lines do not interleave.

Flower's bare engine for comparison lives in :mod:`simulations.experiments.bare_app`.
"""

from __future__ import annotations

import time

from flwr.app import Context, Message
from flwr.clientapp import ClientApp

from participant_node import client_app as member
from simulations.experiments.bare_app import log_timing

timed_app = ClientApp()


def _round(msg: Message) -> int:
    config = msg.content.config_records.get(member.CONFIG_KEY)
    return int(str(config.get("server-round", 0))) if config is not None else 0


def _timed(phase: str, msg: Message, context: Context) -> Message:
    t0 = time.perf_counter()
    reply = member.train(msg, context) if phase == "train" else member.evaluate(msg, context)
    seconds = time.perf_counter() - t0
    metrics = reply.content.metric_records.get("metrics")
    m = {k: v for k, v in (metrics or {}).items() if isinstance(v, int | float)}
    log_timing(
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
