"""Flatten a model's parameters to one float64 vector and back (what the codec transports)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def num_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return int(sum(p.numel() for p in model.parameters()))


def get_flat(model: nn.Module) -> np.ndarray:
    """All parameters, in ``model.parameters()`` order, as one float64 vector."""
    with torch.no_grad():
        parts = [p.detach().reshape(-1).to(torch.float64).cpu().numpy() for p in model.parameters()]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float64)


def set_flat(model: nn.Module, flat: np.ndarray) -> None:
    """Load a vector produced by :func:`get_flat` (or an average of such vectors).

    Raises
    ------
    ValueError
        When the vector length does not match the model or contains non-finite values.
    """
    vec = np.asarray(flat, dtype=np.float64)
    expected = num_parameters(model)
    if vec.shape != (expected,):
        raise ValueError(f"parameter vector has {vec.size} values; model expects {expected}")
    if not np.all(np.isfinite(vec)):
        raise ValueError("parameter vector contains NaN or infinity")
    offset = 0
    with torch.no_grad():
        for p in model.parameters():
            n = p.numel()
            chunk = torch.from_numpy(vec[offset : offset + n].copy()).reshape(p.shape)
            p.copy_(chunk.to(p.dtype))
            offset += n
