"""Secure-sum FedAvg: Flower's FedAvg with aggregation delegated to an additive codec.

Flower's ``FedAvg`` averages plaintext arrays weighted by a reported ``num-examples``; that
cannot run on ciphertexts and would reveal each member's size. This wrapper keeps FedAvg's
sampling, messaging and round loop (``Strategy.start``) and replaces only the two aggregation
steps: the members' payloads (``Enc(w * params)`` and ``Enc(w)`` for training, label-split score
histograms for evaluation) are *added* with the codec, which needs no secret. Members divide by
the summed weight after decrypting. Each round's sum is stored in the run store as that round's
checkpoint before the next round starts; a round with fewer than ``min_members`` valid replies
is not aggregated, so the last good checkpoint stays in force.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from logging import WARNING

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.common.logger import log
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from coordinator.records import META_KEY, payload_of, payload_records
from coordinator.state import Checkpoint, RunStore
from privacy import CodecError, Payload, UpdateCodec


class SecureSumFedAvg(FedAvg):
    """FedAvg whose aggregation is a codec sum (see module docstring).

    Parameters
    ----------
    codec
        The aggregation codec (only ``aggregate`` is called on the coordinator).
    store, run_id
        Where round checkpoints are recorded.
    min_members
        Minimum valid replies for a round to be aggregated.
    on_round
        Optional callback ``(round, phase, n_members)`` for progress display.
    """

    def __init__(
        self,
        codec: UpdateCodec,
        store: RunStore,
        run_id: str,
        min_members: int,
        on_round: object = None,
    ) -> None:
        super().__init__(
            fraction_train=1.0,
            fraction_evaluate=1.0,
            min_train_nodes=min_members,
            min_evaluate_nodes=min_members,
            min_available_nodes=min_members,
        )
        self.codec = codec
        self.store = store
        self.run_id = run_id
        self.min_members = min_members
        self.on_round = on_round
        self.current_meta: dict[str, int | float | str] = {}
        self.failed_rounds: list[tuple[int, str]] = []
        self._round_started = time.perf_counter()

    # -------------------------------------------------------------- configure
    def _with_meta(self, config: ConfigRecord) -> ConfigRecord:
        merged = ConfigRecord(dict(config))
        for k, v in self.current_meta.items():
            merged[f"payload.{k}"] = v
        return merged

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Send the current aggregate (round 1: no arrays, members start from the seed)."""
        self._round_started = time.perf_counter()
        messages = list(super().configure_train(server_round, arrays, config, grid))
        for m in messages:
            m.content.config_records[self.configrecord_key] = self._with_meta(
                m.content.config_records[self.configrecord_key]
            )
        return messages

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Send the new aggregate for federated evaluation."""
        messages = list(super().configure_evaluate(server_round, arrays, config, grid))
        for m in messages:
            m.content.config_records[self.configrecord_key] = self._with_meta(
                m.content.config_records[self.configrecord_key]
            )
        return messages

    # -------------------------------------------------------------- aggregate
    def _collect(
        self, server_round: int, replies: Iterable[Message], phase: str
    ) -> tuple[list[Payload], list[str], list[str]]:
        valid, errored = self._check_and_log_replies(
            replies, is_train=phase == "train", validate=False
        )
        payloads: list[Payload] = []
        members: list[str] = []
        failed: list[str] = [f"node-{m.metadata.src_node_id}: {m.error.reason}" for m in errored]
        for msg in valid:
            meta_record = msg.content.config_records.get(META_KEY)
            member = str(meta_record.get("member-id", "")) if meta_record is not None else ""
            name = member or f"node-{msg.metadata.src_node_id}"
            try:
                payload = payload_of(msg.content)
                if payload.scheme != self.codec.scheme:
                    raise CodecError(
                        f"scheme {payload.scheme!r} but this run aggregates {self.codec.scheme!r}"
                    )
                self.codec.aggregate([payload])  # validates shape/key/range of one payload
            except CodecError as exc:
                log(
                    WARNING,
                    "round %s %s: rejected reply from %s: %s",
                    server_round,
                    phase,
                    name,
                    exc,
                )
                failed.append(f"{name}: {exc}")
                continue
            payloads.append(payload)
            members.append(name)
        return payloads, members, failed

    def _aggregate(
        self, server_round: int, replies: Iterable[Message], phase: str
    ) -> Payload | None:
        payloads, members, failed = self._collect(server_round, replies, phase)
        if len(payloads) < self.min_members:
            reason = (
                f"round {server_round} {phase}: {len(payloads)} valid replies, "
                f"fewer than min-members={self.min_members}; keeping the last checkpoint"
            )
            log(WARNING, reason)
            self.failed_rounds.append((server_round, reason))
            return None
        try:
            agg = self.codec.aggregate(payloads)
        except CodecError as exc:
            reason = f"round {server_round} {phase}: aggregation refused: {exc}"
            log(WARNING, reason)
            self.failed_rounds.append((server_round, reason))
            return None
        self.store.save_checkpoint(
            Checkpoint(
                run_id=self.run_id,
                round=server_round,
                phase=phase,
                payload=agg,
                members=tuple(members),
                failed=tuple(failed),
                bytes_up=sum(p.nbytes() for p in payloads),
                seconds=time.perf_counter() - self._round_started,
            )
        )
        if callable(self.on_round):
            self.on_round(server_round, phase, len(members))
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
