"""The member's Flower ClientApp: decode the aggregate, train locally, encode the update.

Train message: the previous round's aggregate (round 1: only the model seed) and the round
config. The member decodes it (``sum w_i * params_i / sum w_i``), trains on its own rows and
replies ``encode(params, weight=rows)``. Evaluate message: the new aggregate; the member
replies the label-split score histograms of its holdout, through the same codec. Raw rows never
leave the member; only codec payloads do.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping

import numpy as np
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from participant_node.codecs import MemberCodecs, member_codecs
from participant_node.config import MemberConfig, MemberLocal
from participant_node.metrics import pack_histograms, score_histograms
from participant_node.model import build_from_spec, get_flat, predict_proba, set_flat
from participant_node.partition import MemberPartition, load_partition
from participant_node.private_round import train_round
from privacy import Payload, UpdateCodec
from privacy.errors import BudgetExhausted
from privacy.layouts import fedavg_weight

ARRAYS_KEY = "arrays"
META_KEY = "payload-meta"
REFUSAL_KEY = "refusal"
CONFIG_KEY = "config"

app = ClientApp()


def _member(context: Context, cfg: MemberConfig) -> MemberPartition:
    if not cfg.data_dir:
        raise ValueError("run config has no data-dir: the member does not know where its rows are")
    return load_partition(cfg.data_dir, int(str(context.node_config["partition-id"])))


def _incoming(msg: Message) -> Payload | None:
    """The aggregate in a server message, or ``None`` in round 1 (seed only)."""
    arrays = msg.content.array_records.get(ARRAYS_KEY)
    if arrays is None or len(arrays) == 0:
        return None
    config = msg.content.config_records[CONFIG_KEY]
    meta = {k.removeprefix("payload."): v for k, v in config.items() if k.startswith("payload.")}
    return Payload(
        arrays={k: a.numpy() for k, a in arrays.items()},
        meta={k: v for k, v in meta.items() if isinstance(v, int | float | str)},
    )


def _global_model(
    msg: Message, cfg: MemberConfig, n_features: int, codec: UpdateCodec
) -> torch.nn.Module:
    model = build_from_spec(cfg.model_spec(n_features), seed=cfg.model_seed)
    incoming = _incoming(msg)
    if incoming is not None:
        set_flat(model, codec.decode(incoming).mean())
    return model


def _reply(msg: Message, payload: Payload, member_id: str, metrics: Mapping[str, float]) -> Message:
    meta = ConfigRecord({**dict(payload.meta), "member-id": member_id})
    content = RecordDict(
        {
            ARRAYS_KEY: ArrayRecord({k: Array(np.asarray(v)) for k, v in payload.arrays.items()}),
            META_KEY: meta,
            "metrics": MetricRecord(dict(metrics)),
        }
    )
    return Message(content=content, reply_to=msg)


def _refusal(msg: Message, member_id: str, exc: BudgetExhausted) -> Message:
    record = ConfigRecord({"member-id": member_id, "reason": str(exc)})
    return Message(content=RecordDict({REFUSAL_KEY: record}), reply_to=msg)


def _setup(
    msg: Message, context: Context
) -> tuple[MemberConfig, MemberPartition, MemberLocal, MemberCodecs, int, str]:
    torch.set_num_threads(1)
    cfg = MemberConfig.from_run_config(context.run_config)
    member = _member(context, cfg)
    local = MemberLocal.resolve(context.node_config, cfg.data_dir, member.member_id)
    codecs = member_codecs(cfg.privacy, local.private_key)
    config = msg.content.config_records[CONFIG_KEY]
    server_round = int(str(config.get("server-round", 0)))
    run_id = str(config.get("run-id", "") or context.run_config.get("run-id", "") or "run")
    return cfg, member, local, codecs, server_round, run_id


@app.train()
def train(msg: Message, context: Context) -> Message:
    """One round: decode the aggregate, charge the ledger, DP-SGD, encode ``(params, w)``."""
    cfg, member, local, codecs, server_round, run_id = _setup(msg, context)
    model = _global_model(msg, cfg, member.n_features, codecs.update)
    seed = zlib.crc32(f"{member.member_id}:{server_round}:{cfg.model_seed}".encode())
    t0 = time.perf_counter()
    try:
        loss, privacy = train_round(
            model,
            member.x_train,
            member.y_train,
            cfg,
            data_file=member.source,
            ledger_path=local.ledger,
            epsilon_budget=local.epsilon_budget,
            run_id=run_id,
            server_round=server_round,
            seed=seed,
        )
    except BudgetExhausted as exc:
        return _refusal(msg, member.member_id, exc)
    t1 = time.perf_counter()
    weight = fedavg_weight(
        rows=len(member.y_train),
        weight_unit=cfg.privacy.weight_unit,
        max_weight=cfg.privacy.max_weight,
    )
    payload = codecs.update.encode(get_flat(model), weight=weight)
    t2 = time.perf_counter()
    metrics = {
        "train-loss": loss,
        "train-seconds": t1 - t0,
        "encode-seconds": t2 - t1,
        **privacy.metrics(),
    }
    return _reply(msg, payload, member.member_id, metrics)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    """Score the holdout with the new global model; reply encoded label-split histograms."""
    cfg, member, _, codecs, _, _ = _setup(msg, context)
    model = _global_model(msg, cfg, member.n_features, codecs.update)
    scores = predict_proba(model, member.x_holdout)
    pos, neg = score_histograms(scores, member.y_holdout, cfg.hist_bins)
    payload = codecs.histogram.encode(pack_histograms(pos, neg), weight=1)
    return _reply(msg, payload, member.member_id, {"holdout-rows": float(len(scores))})
