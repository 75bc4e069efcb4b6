"""DP-SGD local training with Opacus (per-example clipping + Gaussian noise, Poisson sampling).

One federated round is ``dp.local_steps`` DP-SGD steps (Abadi et al., CCS 2016): each step draws
a Poisson sample (every row independently with probability ``dp.sample_rate``), clips every
row's gradient to L2 norm ``dp.clip_norm``, sums, adds ``N(0, (noise_multiplier * clip_norm)^2)``
and divides by the *expected* batch size ``sample_rate * rows``. Sampling and noise use a
generator seeded from the operating system's CSPRNG (``secrets``); Opacus' own ``secure_mode``
needs the unmaintained ``torchcsprng`` package, which has no build for this torch.

Per-example clipping: ``fused`` (default) is our ghost-norm step for stacks of Linear layers
(:mod:`participant_node.model.ghost_linear`, checked against Opacus in the tests); the Opacus
modes ``hooks``, ``ew`` (expanded weights), ``functorch`` and ``ghost`` (ghost clipping) serve
every other model. ``benchmarks/dp_sgd.py`` measures all of them.
Rows are indexed straight out of tensors (no per-row DataLoader), which is where most of the
non-DP training time would otherwise go.

Complexity: O(local_steps * sample_rate * rows * params).
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from opacus.grad_sample.utils import prepare_module
from opacus.optimizers import get_optimizer_class
from opacus.utils.fast_gradient_clipping_utils import DPLossFastGradientClipping
from torch import nn

from participant_node.model.ghost_linear import make_fused_step, noise_only_step, supports
from participant_node.model.train import TrainSettings
from privacy.dp import DPSettings

GRAD_SAMPLE_MODES: tuple[str, ...] = ("fused", "hooks", "ew", "functorch", "ghost")
DEFAULT_GRAD_SAMPLE_MODE = "fused"


@dataclass(frozen=True)
class DPTrainResult:
    """What one private local training call did."""

    loss: float
    steps: int
    rows: int
    mean_batch: float


def train_local_dp(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    settings: TrainSettings,
    dp: DPSettings,
    *,
    grad_sample_mode: str = DEFAULT_GRAD_SAMPLE_MODE,
    generator_seed: int | None = None,
) -> DPTrainResult:
    """Train ``model`` in place with DP-SGD for ``dp.local_steps`` steps.

    Parameters
    ----------
    model
        Opacus-compatible module (no BatchNorm); its parameters are updated in place.
    x, y
        The member's encoded rows and 0/1 labels.
    settings
        Learning rate and momentum (``batch_size`` and ``epochs`` are replaced by the DP
        sample rate and step count).
    dp
        Clip norm, noise multiplier, sample rate, local steps.
    generator_seed
        Only for reproducible tests; ``None`` (the default) seeds from ``secrets``.
    """
    if len(x) != len(y):
        raise ValueError(f"features have {len(x)} rows but labels have {len(y)}")
    n = len(x)
    if n == 0:
        raise ValueError("cannot train on zero rows")
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    seed = secrets.randbits(63) if generator_seed is None else generator_seed
    gen = torch.Generator().manual_seed(seed)
    expected = max(1, round(dp.sample_rate * n))
    step, close = _make_step(model, settings, dp, expected, gen, grad_sample_mode)
    total, batch_rows = 0.0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(dp.local_steps):
            mask = torch.rand(n, generator=gen) < dp.sample_rate
            idx = torch.nonzero(mask).squeeze(1)
            total += step(xt[idx], yt[idx]) * len(idx)
            batch_rows += len(idx)
    close()
    return DPTrainResult(
        loss=total / max(batch_rows, 1),
        steps=dp.local_steps,
        rows=n,
        mean_batch=batch_rows / dp.local_steps,
    )


StepFn = Callable[[torch.Tensor, torch.Tensor], float]
CloseFn = Callable[[], None]


def _make_step(
    model: nn.Module,
    settings: TrainSettings,
    dp: DPSettings,
    expected: int,
    gen: torch.Generator,
    mode: str,
) -> tuple[StepFn, CloseFn]:
    """Build one DP-SGD step ``(x_batch, y_batch) -> batch loss`` and its clean-up.

    ``fused`` (our ghost-norm step for Linear stacks, :mod:`ghost_linear`) falls back to
    Opacus' ``ghost`` mode for models it does not support.
    """
    if mode not in GRAD_SAMPLE_MODES:
        raise ValueError(f"grad sample mode must be one of {GRAD_SAMPLE_MODES}; got {mode!r}")
    if mode == "fused":
        if supports(model):
            base = torch.optim.SGD(
                model.parameters(),
                lr=settings.learning_rate,
                momentum=settings.momentum,
                weight_decay=settings.weight_decay,
            )
            return make_fused_step(
                model,
                base,
                clip_norm=dp.clip_norm,
                noise_multiplier=dp.noise_multiplier,
                expected_batch=expected,
                generator=gen,
            )
        mode = "ghost"
    kwargs = {"max_grad_norm": dp.clip_norm} if mode == "ghost" else {}
    gsm = prepare_module(
        model, grad_sample_mode=mode, batch_first=True, loss_reduction="mean", **kwargs
    )
    gsm.train()
    base = torch.optim.SGD(
        model.parameters(),
        lr=settings.learning_rate,
        momentum=settings.momentum,
        weight_decay=settings.weight_decay,
    )
    opt_cls = get_optimizer_class(clipping="flat", distributed=False, grad_sample_mode=mode)
    opt = opt_cls(
        base,
        noise_multiplier=dp.noise_multiplier,
        max_grad_norm=dp.clip_norm,
        expected_batch_size=expected,
        loss_reduction="mean",
        generator=gen,
    )
    if mode == "ghost":
        criterion: Callable[..., torch.Tensor] = DPLossFastGradientClipping(
            gsm, opt, nn.BCEWithLogitsLoss(), loss_reduction="mean"
        )
    else:
        criterion = nn.BCEWithLogitsLoss()
    std = dp.noise_multiplier * dp.clip_norm

    def step(xb: torch.Tensor, yb: torch.Tensor) -> float:
        opt.zero_grad(set_to_none=True)
        if len(xb) == 0:
            noise_only_step(model, base, std=std, expected_batch=expected, generator=gen)
            return 0.0
        loss = criterion(gsm(xb), yb)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step, gsm._close
