"""What ``fedcredit sim run`` is asked to do: one frozen, validated dataclass.

Kept apart from :mod:`simulations.experiments.simrun` (which imports torch, Flower and the
member's code) so the command line can build and check it without paying those imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from privacy.layouts import WEIGHTINGS
from simulations.experiments.partition import parse_partition


@dataclass(frozen=True)
class SimRunConfig:
    """Everything ``fedcredit sim run`` was asked to do (recorded in the report)."""

    out: Path
    label: str
    positive: str
    data: Path | None = None
    consortium: Path | None = None
    contract: Path | None = None
    members: int = 5
    partition: str = "iid"
    rounds: int = 20
    seed: int = 42
    model: str = "logistic"
    mlp_hidden: int = 32
    local_epochs: int = 1
    batch_size: int = 256
    learning_rate: float = 0.1
    momentum: float = 0.9
    hist_bins: int = 1024
    baselines: bool = True
    encryption: str = "paillier"
    insecure_plaintext: bool = False
    encoding: str | None = None
    graph_features: str = "none"
    dp: bool = True
    epsilon: float = 3.0
    delta: float = 1e-5
    clip_norm: float = 3.0
    weighting: str = "auto"
    key_bits: int = 3072

    def __post_init__(self) -> None:
        if (self.data is None) == (self.consortium is None):
            raise ValueError("give exactly one of --data PATH.csv or --consortium DIR")
        if self.rounds < 1:
            raise ValueError(f"--rounds must be >= 1; got {self.rounds}")
        if self.encryption == "none" and not self.insecure_plaintext:
            raise ValueError("--encryption none requires the explicit --insecure-plaintext opt-out")
        if self.encryption not in ("paillier", "none"):
            raise ValueError(f"--encryption must be paillier or none; got {self.encryption!r}")
        if self.dp and not self.epsilon > 0:
            raise ValueError(f"--epsilon must be > 0; got {self.epsilon}")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"--weighting must be one of {WEIGHTINGS}; got {self.weighting!r}")
        parse_partition(self.partition)
