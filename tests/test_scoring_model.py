"""Numpy scoring model vs torch, exact attributions, record encoder vs Preprocessor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from participant_node.data import Contract, FeatureSpec, Preprocessor
from participant_node.model import build_model, get_flat, predict_proba
from participant_node.scoring import RecordEncoder, RecordError, ScoringNet

CONTRACT = Contract(
    label="y",
    positive="1",
    negative="0",
    id_column="company_id",
    features=(
        FeatureSpec.numeric("x", center=1.0, scale=2.0, missing="impute", fill=1.0, indicator=True),
        FeatureSpec.numeric("assets", center=100.0, scale=50.0),
        FeatureSpec.categorical("sector", ["retail", "steel"], missing="category"),
    ),
)


@pytest.mark.parametrize("kind", ["logistic", "mlp"])
def test_numpy_model_matches_torch(kind: str) -> None:
    model = build_model(kind, 5, hidden=8, seed=11)
    flat = get_flat(model) + (0.3 if kind == "logistic" else 0.0)  # logistic starts at zero
    from participant_node.model import set_flat

    set_flat(model, flat)
    net = ScoringNet.from_flat(kind, 5, 8, flat)
    x = np.random.default_rng(1).normal(size=(64, 5)).astype(np.float32)
    np.testing.assert_allclose(net.proba(x), predict_proba(model, x), atol=1e-6)


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]


def test_wrong_parameter_count_is_named() -> None:
    with pytest.raises(ValueError, match="expects 6"):
        ScoringNet.from_flat("logistic", 5, 0, np.zeros(5))


def test_logistic_attributions_are_weight_times_offset() -> None:
    net = ScoringNet.from_flat("logistic", 3, 0, np.array([2.0, -1.0, 0.5, 0.1]))
    a = net.attribute(np.array([[1.0, 1.0, 2.0]]), np.array([0.0, 1.0, 0.0]))
    assert a.tolist() == [[2.0, 0.0, 1.0]]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 24))
def test_mlp_integrated_gradients_are_complete(seed: int, hidden: int) -> None:
    """Exact IG: attributions sum to logit(x) - logit(reference) to rounding."""
    rng = np.random.default_rng(seed)
    d = 4
    n_params = hidden * d + hidden + hidden * hidden + hidden + hidden + 1
    net = ScoringNet.from_flat("mlp", d, hidden, rng.normal(size=n_params))
    x = rng.normal(size=(20, d)) * 3
    ref = rng.normal(size=d)
    a = net.attribute(x, ref)
    gap = net.logit(x) - net.logit(ref[None, :])[0]
    np.testing.assert_allclose(a.sum(axis=1), gap, atol=1e-9 * (1 + np.abs(gap).max()))


def test_mlp_integrated_gradients_on_a_hand_network() -> None:
    # one hidden unit relu(x1 - x2) twice: logit = relu(x1 - x2); from ref 0 to (2, 1):
    # the path t*(2,1) is active for all t > 0 with gradient (1, -1) -> attributions (2, -1)
    w1 = [1.0, -1.0, 0.0, 0.0]  # 2x2
    b1 = [0.0, 0.0]
    w2 = [1.0, 0.0, 0.0, 0.0]
    b2 = [0.0, 0.0]
    w3 = [1.0, 0.0]
    b3 = [0.0]
    net = ScoringNet.from_flat("mlp", 2, 2, np.array(w1 + b1 + w2 + b2 + w3 + b3))
    assert net.attribute(np.array([[2.0, 1.0]]), np.zeros(2)).tolist() == [[2.0, -1.0]]


def test_record_encoder_matches_preprocessor() -> None:
    rows = pd.DataFrame(
        {
            "x": ["3", " 2.5 ", "", "NA", "-1e1"],
            "assets": [100, 250.0, 0, 99, 1e9],
            "sector": ["retail", " steel", None, "NA", "retail"],
        }
    )
    batch = Preprocessor(CONTRACT).transform(rows)
    enc = RecordEncoder(CONTRACT)
    one = np.stack([enc.encode(r) for r in _records(rows)])
    np.testing.assert_allclose(one, batch, atol=1e-6)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"x": "1,5", "assets": 1, "sector": "retail"}, "column 'x': '1,5' is not a number"),
        ({"x": 1, "assets": None, "sector": "retail"}, "column 'assets': missing value"),
        ({"x": 1, "assets": 1, "sector": "coal"}, "'coal' is not among the contract's categories"),
        ({"x": 1, "sector": "retail"}, "lacks contract feature column 'assets'"),
    ],
)
def test_record_errors_name_column_and_rule(record: dict[str, object], message: str) -> None:
    with pytest.raises(RecordError, match=message):
        RecordEncoder(CONTRACT).encode(record)


def _random_mlp(seed: int, d: int, hidden: int) -> ScoringNet:
    rng = np.random.default_rng(seed)
    n_params = hidden * d + hidden + hidden * hidden + hidden + hidden + 1
    return ScoringNet.from_flat("mlp", d, hidden, rng.normal(size=n_params))


def test_closed_form_handles_a_layer_two_kink_inside_a_segment() -> None:
    # logit = relu(relu(x) - 1): from 0 to x = 3 the layer-1 unit is on for all t > 0 (one
    # segment), the layer-2 unit switches on at t = 1/3 -> IG = 3 * (2/3) = 2 = f(3) - f(0)
    w1, b1 = [1.0, 0.0], [0.0, 0.0]  # 2x1
    w2, b2 = [1.0, 0.0, 0.0, 0.0], [-1.0, 0.0]
    w3, b3 = [1.0, 0.0], [0.0]
    net = ScoringNet.from_flat("mlp", 1, 2, np.array(w1 + b1 + w2 + b2 + w3 + b3))
    a = net.attribute(np.array([[3.0], [0.5]]), np.zeros(1))
    np.testing.assert_allclose(a, [[2.0], [0.0]], atol=1e-15)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 24), st.integers(1, 6))
def test_closed_form_equals_the_path_walk(seed: int, hidden: int, d: int) -> None:
    """The closed form and the kink-to-kink walk are the same exact integral."""
    net = _random_mlp(seed, d, hidden)
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(size=(30, d)) * 3
    x[0] = 0.0  # a row equal to the reference: all zero
    ref = np.zeros(d)
    fast, walk = net.attribute(x, ref), net.attribute(x, ref, method="walk")
    np.testing.assert_allclose(fast, walk, rtol=0, atol=1e-9 * (1 + np.abs(walk).max()))
    assert np.all(fast[0] == 0.0)


def test_closed_form_is_independent_of_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    from participant_node.scoring import attribution

    net = _random_mlp(4, 5, 16)
    x = np.random.default_rng(2).normal(size=(300, 5))
    ref = np.full(5, 0.1)
    whole = net.attribute(x, ref)
    monkeypatch.setattr(attribution, "CHUNK_ELEMENTS", 1)  # one row per chunk
    np.testing.assert_allclose(net.attribute(x, ref), whole, rtol=0, atol=1e-12)


def test_unknown_attribution_method_is_named() -> None:
    with pytest.raises(ValueError, match="attribution method must be segments or walk; got 'ig'"):
        _random_mlp(0, 2, 3).attribute(np.zeros((1, 2)), np.zeros(2), method="ig")
