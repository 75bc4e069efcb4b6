"""DP-SGD local training: the fused ghost-norm step equals Opacus' per-sample clipping."""

import numpy as np
import pytest
import torch
from opacus import GradSampleModule
from torch import nn

from participant_node.model import ModelSpec, TrainSettings, build_from_spec, get_flat
from participant_node.model.dp_train import GRAD_SAMPLE_MODES, train_local_dp
from participant_node.model.ghost_linear import make_fused_step, supports
from privacy.dp import DPSettings


def _opacus_clipped_sum(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, clip: float
) -> list[torch.Tensor]:
    gsm = GradSampleModule(model, loss_reduction="sum")
    loss = nn.BCEWithLogitsLoss(reduction="sum")(gsm(x), y)
    loss.backward()
    per = [p.grad_sample.reshape(len(x), -1) for p in model.parameters()]
    norms = torch.cat(per, dim=1).norm(dim=1)
    factors = (clip / (norms + 1e-6)).clamp(max=1.0)
    out = [(p.grad_sample * factors.view(-1, *[1] * (p.dim()))).sum(0) for p in model.parameters()]
    gsm._close()
    return out


@pytest.mark.parametrize("kind", ["logistic", "mlp"])
def test_fused_step_equals_opacus_per_sample_clipping(kind: str) -> None:
    # Prepare: same weights, same batch, noise switched off
    torch.manual_seed(0)
    x = torch.randn(37, 6)
    y = (torch.rand(37) < 0.3).float()
    spec = ModelSpec(kind=kind, n_features=6, hidden=5)
    reference = build_from_spec(spec, seed=1)
    fused = build_from_spec(spec, seed=1)
    expected = _opacus_clipped_sum(reference, x, y, clip=0.7)
    # Execute: one fused step with lr 1 and no momentum -> params move by -grad
    before = [p.detach().clone() for p in fused.parameters()]
    opt = torch.optim.SGD(fused.parameters(), lr=1.0)
    step, close = make_fused_step(
        fused,
        opt,
        clip_norm=0.7,
        noise_multiplier=0.0,
        expected_batch=37,
        generator=torch.Generator().manual_seed(0),
    )
    step(x, y)
    close()
    # Assert
    for b, p, e in zip(before, fused.parameters(), expected, strict=True):
        np.testing.assert_allclose((b - p.detach()).numpy(), (e / 37).numpy(), atol=1e-5)


def test_supports_only_linear_stacks() -> None:
    assert supports(build_from_spec(ModelSpec("mlp", 4), seed=0))
    assert not supports(build_from_spec(ModelSpec("mlp", 4, group_norm=True), seed=0))


@pytest.mark.parametrize("mode", GRAD_SAMPLE_MODES)
def test_every_mode_trains_and_adds_noise(mode: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.float32)
    dp = DPSettings(
        clip_norm=1.0, noise_multiplier=0.8, sample_rate=0.2, local_steps=10, delta=1e-5
    )
    a = build_from_spec(ModelSpec("logistic", 5), seed=0)
    b = build_from_spec(ModelSpec("logistic", 5), seed=0)
    ra = train_local_dp(a, x, y, TrainSettings(learning_rate=0.2), dp, grad_sample_mode=mode)
    train_local_dp(b, x, y, TrainSettings(learning_rate=0.2), dp, grad_sample_mode=mode)
    assert ra.steps == 10 and 40 < ra.mean_batch < 120  # Poisson batches around q * n = 80
    assert not np.allclose(get_flat(a), get_flat(b))  # fresh noise from the OS CSPRNG
    assert get_flat(a)[0] > 0  # learned the sign of the only informative feature


def test_empty_poisson_batches_still_take_a_noisy_step() -> None:
    model = build_from_spec(ModelSpec("logistic", 3), seed=0)
    dp = DPSettings(
        clip_norm=1.0, noise_multiplier=1.0, sample_rate=1e-6, local_steps=3, delta=1e-5
    )
    result = train_local_dp(model, np.zeros((10, 3)), np.zeros(10), TrainSettings(), dp)
    assert result.mean_batch == 0.0
    assert np.abs(get_flat(model)).max() > 0  # noise moved the zero-initialised weights
