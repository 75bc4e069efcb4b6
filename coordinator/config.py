"""The coordinator's view of the run config, read once into a frozen dataclass.

Only keys the association needs are read here; model hyper-parameters are the members'
business (see ``participant_node.config``). The coordinator config has no field that could hold
a private key: the coordinator cannot be configured to decrypt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENCRYPTION_CHOICES: tuple[str, ...] = ("paillier", "none")


@dataclass(frozen=True)
class CoordinatorConfig:
    """Settings of one federated run, as the association sees them.

    Parameters
    ----------
    num_rounds
        Rounds of training (each followed by federated evaluation).
    min_members
        A round is aggregated only when at least this many members replied.
    round_timeout
        Seconds to wait for replies in one round.
    model_seed
        Seed from which members build identical round-1 weights.
    encryption, insecure_plaintext
        ``paillier`` (default) or ``none``; ``none`` requires the explicit opt-out flag.
    run_store
        Run store: a SQLite file, or a ``postgresql://`` URL (``coordinator.store_sql``).
    public_key
        Path of the consortium public key (the coordinator never holds a private key).
    param_clip, value_bits, max_members, max_weight
        Packing layout numbers, identical at every member (``privacy.layouts``).
    evaluate
        Run federated evaluation after every training round.
    max_reply_bytes
        Largest member reply accepted (bytes of arrays); larger replies are rejected.
    members_file
        JSON ``{"members": {name: {"node_id": int}}}`` written by ``fedcredit coordinator
        start`` (the allow-list's node ids), to name members that drop out; may be empty.
    transport
        ``tls`` or ``INSECURE`` as the association started its SuperLink; recorded in the run.
    log_file
        File the ServerApp also writes its log to (rejections, drops, refusals); may be empty.
    """

    num_rounds: int
    min_members: int
    round_timeout: float
    model_seed: int
    encryption: str
    insecure_plaintext: bool
    run_store: str | Path
    public_key: str = ""
    param_clip: float = 8.0
    value_bits: int = 16
    max_members: int = 64
    max_weight: int = 255
    evaluate: bool = True
    max_reply_bytes: int = 64 * 2**20
    members_file: str = ""
    transport: str = "tls"
    log_file: str = ""

    def __post_init__(self) -> None:
        if self.max_reply_bytes < 1024:
            raise ValueError(f"max-reply-bytes must be >= 1024; got {self.max_reply_bytes}")
        if self.num_rounds < 1:
            raise ValueError(f"num-server-rounds must be >= 1; got {self.num_rounds}")
        if self.min_members < 1:
            raise ValueError(f"min-members must be >= 1; got {self.min_members}")
        if not self.round_timeout > 0:
            raise ValueError(f"round-timeout must be > 0 seconds; got {self.round_timeout}")
        if self.encryption not in ENCRYPTION_CHOICES:
            raise ValueError(
                f"encryption must be one of {ENCRYPTION_CHOICES}; got {self.encryption!r}"
            )
        if self.encryption == "none" and not self.insecure_plaintext:
            raise ValueError(
                "encryption 'none' sends every member's update in the clear; it requires the "
                "explicit opt-out insecure-plaintext = true"
            )

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, object]) -> CoordinatorConfig:
        """Read the Flower run config (``[tool.flwr.app.config]`` plus overrides)."""
        store = str(run_config.get("run-store", "") or "")
        out_dir = str(run_config.get("out-dir", "") or "")
        if not store:
            store = (
                str(Path(out_dir) / "runstore.sqlite") if out_dir else ".fedcredit/runstore.sqlite"
            )
        return cls(
            num_rounds=int(str(run_config.get("num-server-rounds", 20))),
            min_members=int(str(run_config.get("min-members", 2))),
            round_timeout=float(str(run_config.get("round-timeout", 600.0))),
            model_seed=int(str(run_config.get("model-seed", 7))),
            encryption=str(run_config.get("encryption", "paillier")),
            insecure_plaintext=_as_bool(run_config.get("insecure-plaintext", False)),
            run_store=store if "://" in store else Path(store),
            public_key=str(run_config.get("public-key", "") or ""),
            param_clip=float(str(run_config.get("param-clip", 8.0))),
            value_bits=int(str(run_config.get("value-bits", 16))),
            max_members=int(str(run_config.get("max-members", 64))),
            max_weight=int(str(run_config.get("max-weight", 255))),
            evaluate=_as_bool(run_config.get("evaluate", True)),
            max_reply_bytes=int(str(run_config.get("max-reply-bytes", 64 * 2**20))),
            members_file=str(run_config.get("members-file", "") or ""),
            transport=str(run_config.get("transport", "tls") or "tls"),
            log_file=str(run_config.get("log-file", "") or ""),
        )


def _as_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise ValueError(f"expected a boolean; got {value!r}")
