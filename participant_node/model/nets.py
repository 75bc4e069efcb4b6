"""PyTorch credit models: a logistic scorecard and a small MLP, both Opacus-compatible.

Neither model uses BatchNorm (per-sample gradients would mix rows); the MLP optionally uses
GroupNorm, which Opacus supports. Initialisation is deterministic from ``seed`` so that every
member starts round 1 from the same weights without the coordinator ever holding a model
(the coordinator is model-agnostic and never imports torch).

Example
-------
>>> m = build_model("logistic", n_features=3, seed=1)
>>> sum(p.numel() for p in m.parameters())
4
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

MODEL_KINDS: tuple[str, ...] = ("logistic", "mlp")


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of the consortium model; identical at every member.

    Parameters
    ----------
    kind
        ``logistic`` (a scorecard: one linear layer, exactly additive in the features) or
        ``mlp`` (two hidden layers with ReLU).
    n_features
        Width of the contract's design matrix.
    hidden
        Hidden width of the MLP (ignored for ``logistic``).
    group_norm
        Add GroupNorm after each hidden layer of the MLP (Opacus-compatible normalisation).
    """

    kind: str
    n_features: int
    hidden: int = 32
    group_norm: bool = False

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"model kind must be one of {MODEL_KINDS}; got {self.kind!r}")
        if self.n_features < 1:
            raise ValueError(f"n_features must be >= 1; got {self.n_features}")
        if self.hidden < 1:
            raise ValueError(f"mlp hidden width must be >= 1; got {self.hidden}")


class LogisticScorecard(nn.Module):
    """Logistic regression ``logit = w . x + b``: the classic credit scorecard."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits of shape ``(batch,)``."""
        out: torch.Tensor = self.linear(x).squeeze(-1)
        return out


class SmallMLP(nn.Module):
    """Two hidden layers with ReLU (and optional GroupNorm), one logit output."""

    def __init__(self, n_features: int, hidden: int = 32, group_norm: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(n_features, hidden)]
        if group_norm:
            layers.append(nn.GroupNorm(min(4, hidden), hidden))
        layers += [nn.ReLU(), nn.Linear(hidden, hidden)]
        if group_norm:
            layers.append(nn.GroupNorm(min(4, hidden), hidden))
        layers += [nn.ReLU(), nn.Linear(hidden, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits of shape ``(batch,)``."""
        out: torch.Tensor = self.net(x).squeeze(-1)
        return out


def build_model(
    kind: str, n_features: int, *, hidden: int = 32, group_norm: bool = False, seed: int = 0
) -> nn.Module:
    """Build a model with deterministic initial weights.

    The same ``(spec, seed)`` gives bit-identical weights on every machine, which is how round 1
    starts without the coordinator sending any model.
    """
    spec = ModelSpec(kind=kind, n_features=n_features, hidden=hidden, group_norm=group_norm)
    return build_from_spec(spec, seed=seed)


def build_from_spec(spec: ModelSpec, *, seed: int = 0) -> nn.Module:
    """Build the model described by ``spec`` with weights drawn from ``seed``."""
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model: nn.Module
        if spec.kind == "logistic":
            model = LogisticScorecard(spec.n_features)
            with torch.no_grad():
                model.linear.weight.zero_()
                model.linear.bias.zero_()
        else:
            model = SmallMLP(spec.n_features, spec.hidden, spec.group_norm)
    finally:
        torch.random.set_rng_state(state)
    return model
