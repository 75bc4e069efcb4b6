"""Local training and prediction: plain SGD on binary cross-entropy.

The same loop serves members (inside the Flower ClientApp), the centralised baseline and the
local-only baselines, so every comparison in a report trains identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class TrainSettings:
    """Hyper-parameters of one local training call.

    Parameters
    ----------
    epochs
        Passes over the local rows per call (per round for a member).
    batch_size
        Rows per SGD step.
    learning_rate, momentum, weight_decay
        SGD settings.
    """

    epochs: int = 1
    batch_size: int = 256
    learning_rate: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"local epochs must be >= 1; got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be >= 1; got {self.batch_size}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning rate must be > 0; got {self.learning_rate}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1); got {self.momentum}")


def _tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    if len(x) != len(y):
        raise ValueError(f"features have {len(x)} rows but labels have {len(y)}")
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(
        np.ascontiguousarray(y, dtype=np.float32)
    )


def train_local(
    model: nn.Module, x: np.ndarray, y: np.ndarray, settings: TrainSettings, *, seed: int
) -> float:
    """Train ``model`` in place with minibatch SGD; return the mean loss of the last epoch.

    Rows are shuffled with a generator seeded by ``seed`` (deterministic per member and round).
    Complexity: O(epochs * n * params).
    """
    xt, yt = _tensors(x, y)
    n = len(xt)
    if n == 0:
        raise ValueError("cannot train on zero rows")
    opt = torch.optim.SGD(
        model.parameters(),
        lr=settings.learning_rate,
        momentum=settings.momentum,
        weight_decay=settings.weight_decay,
    )
    loss_fn = nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(seed)
    model.train()
    last = 0.0
    for _ in range(settings.epochs):
        order = torch.randperm(n, generator=gen)
        total, batches = 0.0, 0
        for start in range(0, n, settings.batch_size):
            idx = order[start : start + settings.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach())
            batches += 1
        last = total / max(batches, 1)
    return last


def predict_proba(model: nn.Module, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
    """Probability of default for each row (float64)."""
    model.eval()
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    out = []
    with torch.no_grad():
        for start in range(0, len(xt), batch_size):
            out.append(torch.sigmoid(model(xt[start : start + batch_size])).double().numpy())
    return np.concatenate(out) if out else np.zeros(0)
