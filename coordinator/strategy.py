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
from collections.abc import Iterable, Mapping
from logging import WARNING

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.common.logger import log
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from coordinator.attestation import Round as _Round
from coordinator.attestation import attest
from coordinator.records import META_KEY, REFUSAL_KEY, payload_of, payload_records
from coordinator.state import Checkpoint, RunStore
from privacy import CodecError, Payload, UpdateCodec


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
    """

    def __init__(
        self,
        codecs: Mapping[str, UpdateCodec],
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
        if set(codecs) != {"train", "evaluate"}:
            raise ValueError(
                f"codecs must be given for 'train' and 'evaluate'; got {sorted(codecs)}"
            )
        self.codecs = dict(codecs)
        self.store = store
        self.run_id = run_id
        self.min_members = min_members
        self.on_round = on_round
        self.current_meta: dict[str, int | float | str] = {}
        self.failed_rounds: list[tuple[int, str]] = []
        self._round_started = time.perf_counter()

    # -------------------------------------------------------------- configure
    def _with_meta(self, messages: Iterable[Message]) -> list[Message]:
        """Attach the current aggregate's payload meta (``payload.*`` keys) to each config."""
        out = list(messages)
        for m in out:
            merged = ConfigRecord(dict(m.content.config_records[self.configrecord_key]))
            for k, v in self.current_meta.items():
                merged[f"payload.{k}"] = v
            m.content.config_records[self.configrecord_key] = merged
        return out

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Send the current aggregate (round 1: no arrays, members start from the seed)."""
        self._round_started = time.perf_counter()
        return self._with_meta(super().configure_train(server_round, arrays, config, grid))

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Send the new aggregate for federated evaluation."""
        return self._with_meta(super().configure_evaluate(server_round, arrays, config, grid))

    # -------------------------------------------------------------- aggregate
    def _collect(self, server_round: int, replies: Iterable[Message], phase: str) -> _Round:
        valid, errored = self._check_and_log_replies(
            replies, is_train=phase == "train", validate=False
        )
        codec = self.codecs[phase]
        rnd = _Round()
        rnd.failed += [f"node-{m.metadata.src_node_id}: {m.error.reason}" for m in errored]
        for msg in valid:
            content = msg.content
            if REFUSAL_KEY in content.config_records:
                refusal = content.config_records[REFUSAL_KEY]
                who = str(refusal.get("member-id", f"node-{msg.metadata.src_node_id}"))
                log(
                    WARNING,
                    "round %s %s: %s refused: %s",
                    server_round,
                    phase,
                    who,
                    refusal.get("reason", ""),
                )
                rnd.refused.append(f"{who}: {refusal.get('reason', '')!s}")
                continue
            meta_record = content.config_records.get(META_KEY)
            member = str(meta_record.get("member-id", "")) if meta_record is not None else ""
            name = member or f"node-{msg.metadata.src_node_id}"
            try:
                payload = payload_of(content)
                if payload.scheme != codec.scheme:
                    raise CodecError(
                        f"scheme {payload.scheme!r} but this run aggregates {codec.scheme!r}"
                    )
                codec.aggregate([payload])  # validates key, layout, count, range of one payload
            except CodecError as exc:
                log(
                    WARNING,
                    "round %s %s: rejected reply from %s: %s",
                    server_round,
                    phase,
                    name,
                    exc,
                )
                rnd.failed.append(f"{name}: {exc}")
                continue
            metrics = content.metric_records.get("metrics")
            rnd.payloads.append(payload)
            rnd.members.append(name)
            rnd.reports[name] = dict(metrics) if metrics is not None else {}
        return rnd

    def _aggregate(
        self, server_round: int, replies: Iterable[Message], phase: str
    ) -> Payload | None:
        rnd = self._collect(server_round, replies, phase)
        if len(rnd.payloads) < self.min_members:
            reason = (
                f"round {server_round} {phase}: {len(rnd.payloads)} valid replies, "
                f"fewer than min-members={self.min_members}; keeping the last checkpoint"
            )
            log(WARNING, reason)
            self.failed_rounds.append((server_round, reason))
            return None
        try:
            agg = self.codecs[phase].aggregate(rnd.payloads)
        except CodecError as exc:
            reason = f"round {server_round} {phase}: aggregation refused: {exc}"
            log(WARNING, reason)
            self.failed_rounds.append((server_round, reason))
            return None
        attestation = attest(server_round, phase, agg, rnd) if phase == "train" else None
        self.store.save_checkpoint(
            Checkpoint(
                run_id=self.run_id,
                round=server_round,
                phase=phase,
                payload=agg,
                members=tuple(rnd.members),
                failed=tuple(rnd.failed + [f"refused {r}" for r in rnd.refused]),
                bytes_up=sum(p.nbytes() for p in rnd.payloads),
                seconds=time.perf_counter() - self._round_started,
                attestation=attestation,
            )
        )
        if callable(self.on_round):
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
