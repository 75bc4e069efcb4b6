"""The member's Flower ClientApp: decode the aggregate, train locally, encode the update.

Train message: the previous round's aggregate (round 1: only the model seed) and the round
config. The member decodes it (``sum w_i * params_i / sum w_i``), trains on its own rows and
replies ``encode(params, weight=rows)``. Evaluate message: the new aggregate; the member
replies the label-split score histograms of its holdout, through the same codec. Raw rows never
leave the member; only codec payloads do.

Every reply echoes the round's ``run-id``, ``server-round`` and ``round-nonce`` so the
coordinator can refuse replayed or late replies (``coordinator.admission``).

Deployment (``fedcredit node start``): the SuperNode's node config names the member's prepared
rows (``partition-file``, encoded from its validated data file ``dataset-file``), its keys and
its ledger; a simulation uses ``partition-id`` into the harness's ``data-dir`` instead.

Ledger semantics: a round is charged *before* the update leaves the member. When a coordinator
restarted mid-run asks again for a round already charged in the same run (it never aggregated
the first reply), the member re-sends the *same* noisy update it released then
(:mod:`participant_node.replies`), so one charge covers one release; if it had crashed before
sending, it trains once under the existing charge. A charge for a reply that was never
aggregated stays (over-count allowed, under-count never).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from participant_node.codecs import MemberCodecs, member_codecs
from participant_node.config import MemberConfig, MemberLocal
from participant_node.deploy import load_prepared
from participant_node.metrics import pack_histograms, score_histograms
from participant_node.model import build_from_spec, get_flat, predict_proba, set_flat
from participant_node.partition import MemberPartition, load_partition
from participant_node.private_round import (
    RoundPrivacy,
    train_round,
    train_under_charge,
    update_weight,
)
from participant_node.replies import CachedReply, ReplyCache, payload_digest_bytes
from privacy import Payload, UpdateCodec
from privacy.errors import BudgetExhausted
from privacy.ledger import BudgetLedger, Charge, dataset_fingerprint

ECHO_KEYS = ("run-id", "server-round", "round-nonce")
ARRAYS_KEY = "arrays"
META_KEY = "payload-meta"
REFUSAL_KEY = "refusal"
CONFIG_KEY = "config"

app = ClientApp()


def _member(context: Context, cfg: MemberConfig) -> MemberPartition:
    prepared = load_prepared(context.node_config)
    if prepared is not None:
        return prepared
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


def _echo(msg: Message) -> dict[str, int | str]:
    """The round identity to echo back (``run-id``, ``server-round``, ``round-nonce``)."""
    config = msg.content.config_records.get(CONFIG_KEY)
    if config is None:
        return {}
    out: dict[str, int | str] = {}
    for key in ECHO_KEYS:
        value = config.get(key)
        if isinstance(value, int | str):
            out[key] = value
    return out


def _reply(msg: Message, payload: Payload, member_id: str, metrics: Mapping[str, float]) -> Message:
    meta = ConfigRecord({**dict(payload.meta), **_echo(msg), "member-id": member_id})
    content = RecordDict(
        {
            ARRAYS_KEY: ArrayRecord({k: Array(np.asarray(v)) for k, v in payload.arrays.items()}),
            META_KEY: meta,
            "metrics": MetricRecord(dict(metrics)),
        }
    )
    return Message(content=content, reply_to=msg)


def _refusal(msg: Message, member_id: str, exc: BudgetExhausted) -> Message:
    record = ConfigRecord({**_echo(msg), "member-id": member_id, "reason": str(exc)})
    return Message(content=RecordDict({REFUSAL_KEY: record}), reply_to=msg)


def _setup(
    msg: Message, context: Context
) -> tuple[MemberConfig, MemberPartition, MemberLocal, MemberCodecs, int, str]:
    torch.set_num_threads(1)
    cfg = MemberConfig.from_run_config(context.run_config)
    member = _member(context, cfg)
    local = MemberLocal.resolve(context.node_config, cfg.data_dir, member.member_id)
    node_public_key = context.node_config.get("public-key")
    if node_public_key:  # a deployed member holds its own copy of the consortium public key
        cfg = replace(cfg, privacy=replace(cfg.privacy, public_key=str(node_public_key)))
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
    incoming = _incoming(msg)
    cache = ReplyCache.beside(local.ledger)
    key = ReplyCache.key(
        dataset_fingerprint(member.source) if member.source.is_file() else str(member.source),
        run_id,
        server_round,
        payload_digest_bytes(None if incoming is None else incoming.arrays),
    )
    cached = cache.get(key) if cfg.privacy.dp else None
    try:
        if cached is not None:  # this exact round was released before: send the same update
            set_flat(model, cached.params)
            loss, privacy = cached.loss, _privacy_from(cached.privacy)
        else:
            charged = _charged_before(local.ledger, member.source, run_id, server_round)
            if charged is not None and cfg.privacy.dp:  # charged, never sent (no cache entry)
                loss, privacy = train_under_charge(
                    model, member.x_train, member.y_train, cfg, charged
                )
            else:
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
            if cfg.privacy.dp:  # durable before anything leaves the member
                cache.put(key, CachedReply(get_flat(model), loss, _privacy_dict(privacy)))
    except BudgetExhausted as exc:
        return _refusal(msg, member.member_id, exc)
    t1 = time.perf_counter()
    weight = update_weight(cfg, len(member.y_train), privacy)
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


def _charged_before(ledger: Path, data_file: Path, run_id: str, server_round: int) -> Charge | None:
    """This (data, run, round)'s existing ledger charge, when the round is asked again."""
    if not ledger.is_file() or not data_file.is_file():
        return None
    try:
        history = BudgetLedger(ledger).history(dataset_fingerprint(data_file))
    except KeyError:
        return None
    matches = [c for c in history if c.run_id == run_id and c.round == server_round]
    return matches[-1] if matches else None


def _privacy_dict(p: RoundPrivacy) -> dict[str, float]:
    return {f.name: float(getattr(p, f.name)) for f in fields(RoundPrivacy)}


def _privacy_from(d: Mapping[str, float]) -> RoundPrivacy:
    return RoundPrivacy(
        bool(d["dp"]),
        float(d["epsilon"]),
        float(d["delta"]),
        float(d["noise_multiplier"]),
        float(d["clip_norm"]),
        float(d["sample_rate"]),
        int(d["local_steps"]),
    )
