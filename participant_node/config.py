"""A member's view of the run config, read once into a frozen dataclass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from participant_node.model import ModelSpec, TrainSettings


@dataclass(frozen=True)
class MemberConfig:
    """Everything a member needs from the run config.

    ``n_features`` is not here: it comes from the member's data contract, so a member whose
    contract disagrees with the global model fails loudly when loading the aggregate.
    """

    model_kind: str
    mlp_hidden: int
    model_seed: int
    train: TrainSettings
    hist_bins: int
    encryption: str
    insecure_plaintext: bool
    data_dir: str

    def __post_init__(self) -> None:
        if self.hist_bins < 16:
            raise ValueError(f"hist-bins must be >= 16; got {self.hist_bins}")
        if self.encryption not in ("paillier", "none"):
            raise ValueError(f"encryption must be 'paillier' or 'none'; got {self.encryption!r}")
        if self.encryption == "none" and not self.insecure_plaintext:
            raise ValueError("encryption 'none' requires the explicit insecure-plaintext = true")

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
            train=TrainSettings(
                epochs=int(str(rc.get("local-epochs", 1))),
                batch_size=int(str(rc.get("batch-size", 64))),
                learning_rate=float(str(rc.get("learning-rate", 0.01))),
                momentum=float(str(rc.get("momentum", 0.9))),
            ),
            hist_bins=int(str(rc.get("hist-bins", 4096))),
            encryption=str(rc.get("encryption", "paillier")),
            insecure_plaintext=str(rc.get("insecure-plaintext", False)).lower() in ("true", "1"),
            data_dir=str(rc.get("data-dir", "")),
        )
