"""Credit models: deterministic seed init, flattening, Opacus compatibility, learning."""

import numpy as np
import pytest
import torch
from opacus.validators import ModuleValidator

from participant_node.model import (
    ModelSpec,
    TrainSettings,
    build_from_spec,
    get_flat,
    predict_proba,
    set_flat,
    train_local,
)


@pytest.mark.parametrize("kind", ["logistic", "mlp"])
def test_same_seed_same_weights_different_seed_different(kind: str) -> None:
    spec = ModelSpec(kind=kind, n_features=6)
    a, b = get_flat(build_from_spec(spec, seed=1)), get_flat(build_from_spec(spec, seed=1))
    assert np.array_equal(a, b)
    if kind == "mlp":
        assert not np.array_equal(a, get_flat(build_from_spec(spec, seed=2)))


@pytest.mark.parametrize("kind", ["logistic", "mlp"])
def test_flat_roundtrip(kind: str) -> None:
    model = build_from_spec(ModelSpec(kind=kind, n_features=4, hidden=8), seed=0)
    vec = np.random.default_rng(0).normal(size=get_flat(model).size)
    set_flat(model, vec)
    np.testing.assert_allclose(get_flat(model), vec, rtol=1e-6)


def test_set_flat_rejects_wrong_length_and_nan() -> None:
    model = build_from_spec(ModelSpec(kind="logistic", n_features=3), seed=0)
    with pytest.raises(ValueError, match="model expects 4"):
        set_flat(model, np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        set_flat(model, np.array([0.0, 1.0, np.nan, 0.0]))


@pytest.mark.parametrize("group_norm", [False, True])
def test_models_are_opacus_compatible(group_norm: bool) -> None:
    for kind in ("logistic", "mlp"):
        model = build_from_spec(ModelSpec(kind=kind, n_features=5, group_norm=group_norm), seed=0)
        assert ModuleValidator.validate(model, strict=False) == []


def test_training_learns_a_separable_rule() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(800, 3)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] > 0).astype(np.float32)
    model = build_from_spec(ModelSpec(kind="logistic", n_features=3), seed=0)
    before = predict_proba(model, x)
    train_local(model, x, y, TrainSettings(epochs=3), seed=0)
    after = predict_proba(model, x)
    assert np.allclose(before, 0.5)  # zero-initialised scorecard
    assert ((after > 0.5) == y.astype(bool)).mean() > 0.95


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValueError, match="local epochs must be >= 1"):
        TrainSettings(epochs=0)
    with pytest.raises(ValueError, match="model kind must be one of"):
        ModelSpec(kind="forest", n_features=3)
    with pytest.raises(ValueError, match="features have 3 rows but labels have 2"):
        train_local(
            build_from_spec(ModelSpec(kind="logistic", n_features=1), seed=0),
            np.zeros((3, 1)),
            np.zeros(2),
            TrainSettings(),
            seed=0,
        )
    assert torch.get_num_threads() >= 1
