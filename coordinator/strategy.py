"""Secure-sum FedAvg: Flower's FedAvg with aggregation delegated to an additive codec.

Flower's ``FedAvg`` averages plaintext arrays weighted by a reported ``num-examples``; that
cannot run on ciphertexts and would reveal each member's size. This subclass keeps FedAvg's
message construction and reply checks and replaces the two aggregation steps: the members'
payloads (``Enc(w * params)`` and ``Enc(w)`` for training, label-split score histograms for
evaluation) are *added* with the codec, which needs no secret. Members divide by the summed
weight after decrypting.

Round discipline (what a deployment must survive):

- every round's messages carry the run id, the round number and a fresh random nonce; a reply
  must echo all three (``coordinator.admission``), so a replayed or late reply from an earlier
  round is rejected, never mixed into this round;
- a reply that is oversized, under another key, of the wrong ciphertext count or out of range is
  rejected and logged with the member id; the round goes on without it;
- a sampled member that does not reply within ``round-timeout`` is recorded as *dropped*;
- a round with fewer than ``min_members`` valid replies (or fewer than ``min_members`` members
  connected when the round starts, after waiting ``round-timeout``) is not aggregated: the last
  good checkpoint stays, and the run stops as *stalled* with the reason;
- each aggregated round is stored (checkpoint, participation, attestation, metrics) in one
  transaction before the next starts; :meth:`SecureSumFedAvg.run` starts at any round, which is
  how a restarted coordinator resumes from the last complete round.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from logging import INFO, WARNING

from flwr.app import ArrayRecord, ConfigRecord, Message, MessageType, MetricRecord, RecordDict
from flwr.common.logger import log
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from coordinator.admission import Expected, Rejected, admit
from coordinator.attestation import Round as _Round
from coordinator.attestation import attest
from coordinator.records import META_KEY, REFUSAL_KEY, payload_of, payload_records
from coordinator.state import Checkpoint, Participation, RunStore
from privacy import CodecError, Payload, UpdateCodec

OnRound = Callable[[int, str, int], None]


def reply_nbytes(content: RecordDict) -> int:
    """Bytes of every array in a reply (what an oversized message is measured by)."""
    return sum(len(a.data) for rec in content.array_records.values() for a in rec.values())


class SecureSumFedAvg(FedAvg):
    """FedAvg whose aggregation is a codec sum (see module docstring).

    Parameters
    ----------
    codecs
        The aggregation codec of each phase, ``train`` (model updates) and ``evaluate``
        (score histograms); only ``aggregate`` is ever called on the coordinator.
    store, run_id
        Where round checkpoints are recorded.
    min_members
        Minimum valid replies for a round to be aggregated.
    on_round
        Optional callback ``(round, phase, n_members)`` for progress display.
    round_timeout
        Seconds to wait for ``min_members`` connected members, and for replies.
    max_reply_bytes
        Largest reply accepted (bytes of arrays).
    node_names
        Known ``node_id -> member`` names (from the allow-list), for dropped members.
    """

    def __init__(
        self,
        codecs: Mapping[str, UpdateCodec],
        store: RunStore,
        run_id: str,
        min_members: int,
        on_round: OnRound | None = None,
        *,
        round_timeout: float = 600.0,
        max_reply_bytes: int = 64 * 2**20,
        node_names: Mapping[int, str] | None = None,
    ) -> None:
        super().__init__(
            fraction_train=1.0,
            fraction_evaluate=1.0,
            min_train_nodes=min_members,
            min_evaluate_nodes=min_members,
            min_available_nodes=min_members,
        )
        if set(codecs) != {"train", "evaluate"}:
            raise ValueError(
                f"codecs must be given for 'train' and 'evaluate'; got {sorted(codecs)}"
            )
        self.codecs = dict(codecs)
        self.store = store
        self.run_id = run_id
        self.min_members = min_members
        self.on_round = on_round
        self.round_timeout = round_timeout
        self.max_reply_bytes = max_reply_bytes
        self.node_names: dict[int, str] = dict(node_names or {})
        self.current_meta: dict[str, int | float | str] = {}
        self.failed_rounds: list[tuple[int, str]] = []
        self._nonce = ""
        self._sampled: list[int] = []
        self._round_started = time.perf_counter()

    # -------------------------------------------------------------- configure
    def _sample(self, grid: Grid, server_round: int, phase: str) -> list[int]:
        """All connected members, after waiting up to ``round_timeout`` for ``min_members``."""
        deadline = time.monotonic() + self.round_timeout
        while len(nodes := list(grid.get_node_ids())) < self.min_members:
            if time.monotonic() >= deadline:
                reason = (
                    f"round {server_round} {phase}: {len(nodes)} members connected after "
                    f"waiting round-timeout={self.round_timeout:g} s, fewer than "
                    f"min-members={self.min_members}; keeping the last checkpoint"
                )
                log(WARNING, reason)
                self.failed_rounds.append((server_round, reason))
                return []
            time.sleep(1.0)
        return nodes

    def _messages(
        self,
        server_round: int,
        arrays: ArrayRecord,
        config: ConfigRecord,
        grid: Grid,
        phase: str,
    ) -> list[Message]:
        self._round_started = time.perf_counter()
        nodes = self._sample(grid, server_round, phase)
        self._sampled = nodes
        if not nodes:
            return []
        self._nonce = secrets.token_hex(16)
        merged = ConfigRecord(dict(config))
        merged["server-round"] = server_round
        merged["run-id"] = self.run_id
        merged["round-nonce"] = self._nonce
        for k, v in self.current_meta.items():
            merged[f"payload.{k}"] = v
        record = RecordDict({self.arrayrecord_key: arrays, self.configrecord_key: merged})
        kind = MessageType.TRAIN if phase == "train" else MessageType.EVALUATE
        log(INFO, "round %s %s: sampled %d members", server_round, phase, len(nodes))
        return list(self._construct_messages(record, nodes, kind))

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Send the current aggregate (round 1: no arrays, members start from the seed)."""
        return self._messages(server_round, arrays, config, grid, "train")

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Send the new aggregate for federated evaluation."""
        return self._messages(server_round, arrays, config, grid, "evaluate")

    # -------------------------------------------------------------- aggregate
    def _name(self, node_id: int, meta: Mapping[str, object] | None = None) -> str:
        member = str(meta.get("member-id", "")) if meta is not None else ""
        if member:
            self.node_names.setdefault(node_id, member)
            return member
        return self.node_names.get(node_id, f"node-{node_id}")

    def _collect(
        self, server_round: int, replies: Iterable[Message], phase: str
    ) -> tuple[_Round, list[Participation]]:
        replies = list(replies)
        valid, errored = self._check_and_log_replies(
            replies, is_train=phase == "train", validate=False
        )
        codec = self.codecs[phase]
        expected = Expected(self.run_id, server_round, self._nonce, self.max_reply_bytes)
        rnd = _Round()
        part: list[Participation] = []
        answered = {m.metadata.src_node_id for m in replies}
        for node in self._sampled:
            if node not in answered:
                reason = f"no reply within round-timeout={self.round_timeout:g} s"
                log(
                    WARNING,
                    "round %s %s: %s dropped: %s",
                    server_round,
                    phase,
                    self._name(node),
                    reason,
                )
                rnd.failed.append(f"{self._name(node)}: {reason}")
                part.append(Participation(self._name(node), "dropped", reason))
        for m in errored:
            name = self._name(m.metadata.src_node_id)
            rnd.failed.append(f"{name}: {m.error.reason}")
            part.append(Participation(name, "dropped", f"member error: {m.error.reason}"))
        for msg in valid:
            content = msg.content
            if REFUSAL_KEY in content.config_records:
                refusal = content.config_records[REFUSAL_KEY]
                who = self._name(msg.metadata.src_node_id, refusal)
                why = str(refusal.get("reason", ""))
                log(WARNING, "round %s %s: %s refused: %s", server_round, phase, who, why)
                rnd.refused.append(f"{who}: {why}")
                part.append(Participation(who, "refused", why))
                continue
            meta = content.config_records.get(META_KEY)
            name = self._name(msg.metadata.src_node_id, meta)
            try:
                payload = payload_of(content)
                admit(payload, meta or {}, reply_nbytes(content), codec, expected)
            except (Rejected, CodecError) as exc:
                log(
                    WARNING,
                    "round %s %s: rejected reply from %s: %s",
                    server_round,
                    phase,
                    name,
                    exc,
                )
                rnd.failed.append(f"{name}: {exc}")
                part.append(Participation(name, "rejected", str(exc)))
                continue
            metrics = content.metric_records.get("metrics")
            rnd.payloads.append(payload)
            rnd.members.append(name)
            rnd.reports[name] = dict(metrics) if metrics is not None else {}
            part.append(Participation(name, "took_part"))
        return rnd, part

    def _aggregate(
        self, server_round: int, replies: Iterable[Message], phase: str
    ) -> Payload | None:
        rnd, part = self._collect(server_round, replies, phase)
        agg: Payload | None = None
        reason = ""
        if len(rnd.payloads) < self.min_members:
            reason = (
                f"round {server_round} {phase}: {len(rnd.payloads)} valid replies, "
                f"fewer than min-members={self.min_members}; keeping the last checkpoint"
            )
        else:
            try:
                agg = self.codecs[phase].aggregate(rnd.payloads)
            except CodecError as exc:
                reason = f"round {server_round} {phase}: aggregation refused: {exc}"
        if agg is None:
            log(WARNING, reason)
            self.failed_rounds.append((server_round, reason))
            self.store.record_round_failure(self.run_id, server_round, phase, part)
            return None
        attestation = attest(server_round, phase, agg, rnd) if phase == "train" else None
        seconds = time.perf_counter() - self._round_started
        bytes_up = sum(p.nbytes() for p in rnd.payloads)
        self.store.save_checkpoint(
            Checkpoint(
                run_id=self.run_id,
                round=server_round,
                phase=phase,
                payload=agg,
                members=tuple(rnd.members),
                failed=tuple(rnd.failed + [f"refused {r}" for r in rnd.refused]),
                bytes_up=bytes_up,
                seconds=seconds,
                attestation=attestation,
                participation=tuple(part),
                metrics=_round_metrics(rnd, seconds, bytes_up),
            )
        )
        if self.on_round is not None:
            self.on_round(server_round, phase, len(rnd.members))
        return agg

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Sum the members' encoded updates; store the sum as this round's checkpoint."""
        agg = self._aggregate(server_round, replies, "train")
        if agg is None:
            return None, None
        arrays, _ = payload_records(agg)
        self.current_meta = dict(agg.meta)
        return arrays, MetricRecord({"members": agg.members})

    def aggregate_evaluate(
        self, server_round: int, replies: Iterable[Message]
    ) -> MetricRecord | None:
        """Sum the members' encoded score histograms (decoded later by key holders)."""
        agg = self._aggregate(server_round, replies, "evaluate")
        if agg is None:
            return None
        return MetricRecord({"members": agg.members})

    # -------------------------------------------------------------- round loop
    def run(
        self,
        grid: Grid,
        *,
        first_round: int,
        num_rounds: int,
        arrays: ArrayRecord,
        train_config: ConfigRecord,
        evaluate: bool = True,
    ) -> str:
        """Run rounds ``first_round..num_rounds``; return ``""`` or the reason the run stalled.

        ``arrays`` (and :attr:`current_meta`) are the last complete round's aggregate, or empty
        for round 1. Evaluation failing does not stop training; a training round that cannot
        be aggregated stops the run (the last good checkpoint stays in force).
        """
        for server_round in range(first_round, num_rounds + 1):
            log(INFO, "[fedcredit ROUND %s/%s] run %s", server_round, num_rounds, self.run_id)
            messages = self.configure_train(
                server_round, arrays, ConfigRecord(dict(train_config)), grid
            )
            if not messages:
                return self.failed_rounds[-1][1]
            replies = grid.send_and_receive(messages, timeout=self.round_timeout)
            new_arrays, _ = self.aggregate_train(server_round, replies)
            if new_arrays is None:
                return self.failed_rounds[-1][1]
            arrays = new_arrays
            if evaluate:
                self.evaluate_round(grid, server_round, arrays)
        return ""

    def evaluate_round(self, grid: Grid, server_round: int, arrays: ArrayRecord) -> None:
        """Federated evaluation of round ``server_round``'s aggregate."""
        messages = self.configure_evaluate(server_round, arrays, ConfigRecord(), grid)
        if messages:
            replies = grid.send_and_receive(messages, timeout=self.round_timeout)
            self.aggregate_evaluate(server_round, replies)


def _round_metrics(rnd: _Round, seconds: float, bytes_up: int) -> dict[str, float]:
    """Federated metrics of one round: counts, time, bytes and the mean reported train loss."""
    out = {
        "members": float(len(rnd.members)),
        "refused": float(len(rnd.refused)),
        "failed": float(len(rnd.failed)),
        "seconds": seconds,
        "bytes_up": float(bytes_up),
    }
    losses = [float(r["train-loss"]) for r in rnd.reports.values() if "train-loss" in r]
    if losses:
        out["train_loss_mean"] = sum(losses) / len(losses)
    return out
