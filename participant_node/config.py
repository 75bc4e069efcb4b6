"""A member's view of the run config, read once into a frozen dataclass.

Secrets are not in the run config: the consortium private key and the member's budget ledger
are *local* settings (Flower node config in a deployment; the member's own folder next to its
data in a simulation), see :class:`MemberLocal`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from participant_node.model import ModelSpec, TrainSettings
from privacy.layouts import WEIGHTINGS


def _bool(value: object) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class PrivacySettings:
    """DP-SGD and encryption settings shared by the consortium for one run."""

    dp: bool = True
    epsilon: float = 3.0
    delta: float = 1e-5
    clip_norm: float = 3.0
    noise_multiplier: float = 0.0
    grad_sample_mode: str = "fused"
    encryption: str = "paillier"
    insecure_plaintext: bool = False
    public_key: str = ""
    value_bits: int = 16
    param_clip: float = 8.0
    max_members: int = 64
    weight_unit: int = 100
    max_weight: int = 255
    weighting: str = "auto"
    noise_weight_scale: float = 4096.0

    def __post_init__(self) -> None:
        if self.encryption not in ("paillier", "none"):
            raise ValueError(f"encryption must be 'paillier' or 'none'; got {self.encryption!r}")
        if self.encryption == "none" and not self.insecure_plaintext:
            raise ValueError("encryption 'none' requires the explicit insecure-plaintext = true")
        if self.dp and not self.epsilon > 0:
            raise ValueError(f"epsilon must be > 0; got {self.epsilon}")
        if not 0 < self.delta < 1:
            raise ValueError(f"delta must be in (0, 1); got {self.delta}")
        if not self.clip_norm > 0:
            raise ValueError(f"clip-norm must be > 0; got {self.clip_norm}")
        if self.noise_multiplier < 0:
            raise ValueError(
                f"noise-multiplier must be >= 0 (0 = from epsilon); got {self.noise_multiplier}"
            )
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}; got {self.weighting!r}")
        if self.weighting == "dp-noise" and not self.dp:
            raise ValueError("weighting 'dp-noise' needs dp = true (it weights by DP noise)")
        if not self.noise_weight_scale > 0:
            raise ValueError(f"noise-weight-scale must be > 0; got {self.noise_weight_scale}")
        if self.encryption == "paillier" and not self.public_key:
            raise ValueError("encryption 'paillier' needs the consortium public-key path")


@dataclass(frozen=True)
class MemberConfig:
    """Everything a member needs from the run config.

    ``n_features`` is not here: it comes from the member's data contract, so a member whose
    contract disagrees with the global model fails loudly when loading the aggregate.
    """

    model_kind: str
    mlp_hidden: int
    model_seed: int
    rounds: int
    train: TrainSettings
    hist_bins: int
    privacy: PrivacySettings
    data_dir: str

    def __post_init__(self) -> None:
        if self.hist_bins < 16:
            raise ValueError(f"hist-bins must be >= 16; got {self.hist_bins}")
        if self.rounds < 1:
            raise ValueError(f"num-server-rounds must be >= 1; got {self.rounds}")

    @property
    def encryption(self) -> str:
        """``paillier`` or ``none``."""
        return self.privacy.encryption

    def model_spec(self, n_features: int) -> ModelSpec:
        """The model architecture for a design matrix of width ``n_features``."""
        return ModelSpec(kind=self.model_kind, n_features=n_features, hidden=self.mlp_hidden)

    @classmethod
    def from_run_config(cls, rc: Mapping[str, object]) -> MemberConfig:
        """Read the Flower run config (``[tool.flwr.app.config]`` plus overrides)."""
        return cls(
            model_kind=str(rc.get("model", "logistic")),
            mlp_hidden=int(str(rc.get("mlp-hidden", 32))),
            model_seed=int(str(rc.get("model-seed", 7))),
            rounds=int(str(rc.get("num-server-rounds", 20))),
            train=TrainSettings(
                epochs=int(str(rc.get("local-epochs", 1))),
                batch_size=int(str(rc.get("batch-size", 256))),
                learning_rate=float(str(rc.get("learning-rate", 0.1))),
                momentum=float(str(rc.get("momentum", 0.9))),
            ),
            hist_bins=int(str(rc.get("hist-bins", 1024))),
            privacy=PrivacySettings(
                dp=_bool(rc.get("dp", True)),
                epsilon=float(str(rc.get("epsilon", 3.0))),
                delta=float(str(rc.get("delta", 1e-5))),
                clip_norm=float(str(rc.get("clip-norm", 3.0))),
                noise_multiplier=float(str(rc.get("noise-multiplier", 0.0))),
                grad_sample_mode=str(rc.get("grad-sample-mode", "fused")),
                encryption=str(rc.get("encryption", "paillier")),
                insecure_plaintext=_bool(rc.get("insecure-plaintext", False)),
                public_key=str(rc.get("public-key", "")),
                value_bits=int(str(rc.get("value-bits", 16))),
                param_clip=float(str(rc.get("param-clip", 8.0))),
                max_members=int(str(rc.get("max-members", 64))),
                weight_unit=int(str(rc.get("weight-unit", 100))),
                max_weight=int(str(rc.get("max-weight", 255))),
                weighting=str(rc.get("weighting", "auto")),
                noise_weight_scale=float(str(rc.get("noise-weight-scale", 4096.0))),
            ),
            data_dir=str(rc.get("data-dir", "")),
        )


@dataclass(frozen=True)
class MemberLocal:
    """Member-local settings that never travel in the run config.

    In a deployment they come from the SuperNode's node config (``private-key``, ``ledger``,
    ``epsilon-budget``); in a simulation from the member's folder beside its data.
    """

    private_key: Path | None
    ledger: Path
    epsilon_budget: float | None

    @classmethod
    def resolve(
        cls, node_config: Mapping[str, object], data_dir: str, member_id: str
    ) -> MemberLocal:
        """Node config first; else the simulation layout ``<data-dir>/secrets`` and
        ``<data-dir>/ledgers/<member>.sqlite``."""
        base = Path(data_dir)
        key = node_config.get("private-key")
        ledger = node_config.get("ledger")
        budget = node_config.get("epsilon-budget")
        default_key = base / "secrets" / "private_key.json"
        return cls(
            private_key=Path(str(key)) if key else (default_key if default_key.exists() else None),
            ledger=Path(str(ledger)) if ledger else base / "ledgers" / f"{member_id}.sqlite",
            epsilon_budget=float(str(budget)) if budget not in (None, "") else None,
        )
