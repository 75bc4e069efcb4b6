"""Member calibration: Platt and isotonic fits, the artifact slot, ``fedcredit node calibrate``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.isotonic import IsotonicRegression
from typer.testing import CliRunner

from participant_node.data import Contract, FeatureSpec
from participant_node.deploy import stratified_mask
from participant_node.scoring import ArtifactError, Scorer, export_model, load_artifact
from participant_node.scoring.calibration import (
    IsotonicCalibrator,
    PlattCalibrator,
    brier,
    calibrator_from_state,
    fit_calibration,
    reliability_table,
)
from simulations.cli import app

CONTRACT = Contract(
    label="y",
    positive="1",
    negative="0",
    id_column="company_id",
    features=(FeatureSpec.numeric("x", center=0.0, scale=1.0),),
)
# logit = 2 x - 1: deliberately over-confident and too high against labels drawn at x - 3
FLAT = np.array([2.0, -1.0])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _miscalibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, model PDs sigmoid(2x - 1), labels drawn from the true PD sigmoid(x - 3)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.random(n) < _sigmoid(x - 3.0)).astype(np.int64)
    return x, _sigmoid(2 * x - 1.0), y


def test_platt_on_a_constant_forecast_learns_the_smoothed_base_rate() -> None:
    # Prepare: PD 0.5 for everyone, 2 defaults in 8; Platt's targets are 3/4 and 1/8, so the
    # best constant is (2 * 3/4 + 6 * 1/8) / 8 = 0.28125
    p = np.full(8, 0.5)
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0])
    # Execute
    cal = PlattCalibrator().fit(p, y)
    # Assert: Brier 0.25 -> (2 * 0.71875^2 + 6 * 0.28125^2) / 8
    np.testing.assert_allclose(cal.transform(p), 0.28125, atol=1e-6)
    assert brier(p, y) == 0.25
    assert brier(cal.transform(p), y) == pytest.approx(0.18847656, abs=1e-6)


def test_platt_refuses_to_reverse_the_ranking() -> None:
    with pytest.raises(ValueError, match=r"a = -.* <= 0: .* \(rule: monotone calibration\)"):
        PlattCalibrator().fit(np.array([0.1, 0.2, 0.3, 0.4]), np.array([1, 1, 0, 0]))


def test_platt_stays_finite_on_separable_rows() -> None:
    cal = PlattCalibrator().fit(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 0, 1, 1]))
    out = cal.transform(np.array([0.01, 0.1, 0.4, 0.9]))
    assert np.all(np.isfinite([cal.a, cal.b])) and np.all((out > 0) & (out < 1))
    assert out[1] < 0.5 < out[2]


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_reduces_brier_and_ece_out_of_fold(method: str) -> None:
    _, p, y = _miscalibrated(4000, seed=5)
    cal, rep = fit_calibration(p, y, method, folds=5, seed=1)
    assert rep["rows"] == 4000 and rep["defaults"] == int(y.sum()) and rep["folds"] == 5
    before, after = rep["before"], rep["after"]
    assert after["brier"] < before["brier"] * 0.9
    assert after["ece"] < before["ece"] / 3
    # the calibrated mean PD matches the default rate (the model's was far above it)
    assert abs(cal.transform(p).mean() - y.mean()) < 0.01 < abs(p.mean() - y.mean())


def test_isotonic_matches_sklearn_and_floors_empty_blocks() -> None:
    rng = np.random.default_rng(3)
    p = np.round(rng.random(300), 2)  # ties on purpose
    y = (rng.random(300) < p).astype(np.int64)
    ours = IsotonicCalibrator().fit(p, y)
    ref = IsotonicRegression(out_of_bounds="clip").fit(p, y)
    floor = 0.5 / len(p)
    np.testing.assert_allclose(
        ours.transform(p), np.clip(ref.predict(p), floor, 1 - floor), atol=1e-12
    )
    # a block without defaults gets 1/(2n), not 0
    assert min(ours.y) >= floor


def test_one_class_and_unknown_method_name_the_rule() -> None:
    with pytest.raises(
        ValueError, match=r"8 labelled rows have 0 default\(s\) \(rule: two classes\)"
    ):
        fit_calibration(np.full(8, 0.1), np.zeros(8))
    with pytest.raises(ValueError, match="calibration method must be one of"):
        fit_calibration(np.array([0.1, 0.2]), np.array([0, 1]), "beta")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=2, max_size=40),
    st.sampled_from(["platt", "isotonic"]),
)
def test_calibrated_pds_are_monotone_in_the_model_pd(
    rows: list[tuple[float, bool]], method: str
) -> None:
    p = np.array([r[0] for r in rows])
    y = np.array([int(r[1]) for r in rows])
    if y.min() == y.max():
        y[0] = 1 - y[0]
    try:
        fitted, _ = fit_calibration(p, y, method, folds=2)
    except ValueError as exc:  # only Platt refuses, and only to keep the ranking
        assert method == "platt" and "rule: monotone calibration" in str(exc)
        return
    cal = calibrator_from_state(fitted.state_dict())
    grid = np.linspace(0, 1, 101)
    out = cal.transform(grid)
    assert np.all((out >= 0) & (out <= 1))
    assert np.all(np.diff(out) >= -1e-12)


# ---------------------------------------------------------------------------- artifact + CLI
@pytest.fixture
def model(tmp_path: Path) -> Path:
    export_model(
        tmp_path / "model.json", flat=FLAT, kind="logistic", hidden=0, contract=CONTRACT,
        run_id="r", round=3, attestations=[],
    )  # fmt: skip
    return tmp_path / "model.json"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    x, _, y = _miscalibrated(1500, seed=11)
    frame = pd.DataFrame({"company_id": [f"C{i:04d}" for i in range(len(x))], "x": x, "y": y})
    frame.to_csv(tmp_path / "labelled.csv", index=False)
    return tmp_path / "labelled.csv"


def _calibrate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["node", "calibrate", *args])
    return result.exit_code, result.output


def test_cli_fits_on_the_holdout_and_the_artifact_round_trips(
    model: Path, data: Path, tmp_path: Path
) -> None:
    # Prepare
    original = model.read_bytes()
    out = tmp_path / "calibrated.json"
    # Execute
    code, output = _calibrate("--model", str(model), "--data", str(data), "--out", str(out))
    # Assert: report, untouched input, a new checksummed file
    assert code == 0, output
    assert "fitting platt on 300 of 1,500 rows" in output and "Brier" in output
    assert model.read_bytes() == original
    art = load_artifact(out)
    fit = art.calibration["fit"]  # type: ignore[index]
    assert art.calibration["method"] == "platt" and fit["rows"] == 300  # type: ignore[index]
    assert fit["brier_after"] < fit["brier_before"] and fit["ece_after"] < fit["ece_before"]
    assert art.sha256 != load_artifact(model).sha256 == json.loads(original)["sha256"]
    assert art.summary()["calibrated"] and art.summary()["calibration_method"] == "platt"
    # fitted on exactly node start's holdout (seed 0, 20%): refit by hand and compare
    frame = pd.read_csv(data)
    hold = stratified_mask(frame["y"].to_numpy(), 0.2, 0)
    raw = _sigmoid(2 * frame["x"].to_numpy()[hold] - 1.0)
    by_hand = PlattCalibrator().fit(raw, frame["y"].to_numpy()[hold])
    # (the scorer encodes features as float32, as training did: agreement to ~1e-7)
    assert art.calibration["a"] == pytest.approx(by_hand.a, rel=1e-6)  # type: ignore[index]
    # the scorer applies it to the model PD
    scored = Scorer.load(out).score(frame.head(5))
    want = by_hand.transform(_sigmoid(2 * frame["x"].to_numpy()[:5] - 1.0))
    assert [r.pd_model for r in scored] == pytest.approx(want.tolist(), rel=1e-6)
    result = CliRunner().invoke(
        app, ["node", "score", "--model", str(out), "--data", str(data),
              "--out", str(tmp_path / "scores.csv")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "model PD calibration: platt, fitted on 300 labelled rows of labelled.csv" in (
        " ".join(result.output.split())
    )


def test_cli_isotonic_every_row_and_explicit_in_place(model: Path, data: Path) -> None:
    code, output = _calibrate(
        "--model", str(model), "--data", str(data), "--out", str(model),
        "--method", "isotonic", "--holdout-fraction", "1",
    )  # fmt: skip
    assert code == 0, output
    assert "on 1,500 of 1,500 rows (every row" in output and "in place" in output
    art = load_artifact(model)
    assert art.calibration["method"] == "isotonic"  # type: ignore[index]
    # calibrating again replaces it (fitted on the uncalibrated PDs)
    code, output = _calibrate("--model", str(model), "--data", str(data), "--out", str(model))
    assert code == 0 and "replaced the isotonic calibration" in output


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        ({"y": 0}, [], "label-one-class"),
        (
            {"y": [1] + [0] * 1499},
            [],
            "the 300 labelled rows have 0 default(s) (rule: two classes)",
        ),
        ({"y": None}, [], "errors by rule: required-column=1"),
        ({}, ["--method", "beta"], "--method must be one of platt, isotonic; got 'beta'"),
        ({}, ["--holdout-fraction", "0"], "holdout fraction must be in (0, 1]; got 0.0"),
    ],
)
def test_cli_bad_inputs_name_the_rule_and_write_nothing(
    model: Path, data: Path, tmp_path: Path, change: dict[str, object], extra: list[str],
    message: str,
) -> None:  # fmt: skip
    frame = pd.read_csv(data)
    for col, value in change.items():
        frame = frame.drop(columns=[col]) if value is None else frame.assign(**{col: value})
    frame.to_csv(data, index=False)
    out = tmp_path / "calibrated.json"
    code, output = _calibrate("--model", str(model), "--data", str(data), "--out", str(out),
                              *extra)  # fmt: skip
    assert code == 1
    assert message in " ".join(output.split())
    assert not out.exists()


def test_malformed_calibration_in_a_file_is_refused(model: Path) -> None:
    art = load_artifact(model).with_calibration(
        {"method": "isotonic", "x": [0.0, 1.0], "y": [0.0, 1.0]}
    )
    art.save(model)
    assert load_artifact(model).calibration["method"] == "isotonic"  # type: ignore[index]
    with pytest.raises(ArtifactError, match="isotonic knots must be non-decreasing"):
        art.with_calibration({"method": "isotonic", "x": [0.0, 1.0], "y": [0.5, 0.1]})


def test_reliability_table_counts_every_row() -> None:
    _, p, y = _miscalibrated(500, seed=2)
    rep = reliability_table(p, y, bins=10)
    assert sum(r["count"] for r in rep["rows"]) == 500
    assert rep["brier"] == pytest.approx(float(np.mean((p - y) ** 2)))
    assert not math.isnan(rep["ece"])


def test_a_calibration_without_method_is_platt(model: Path) -> None:
    # model files written before isotonic existed carry {"a", "b"} only
    load_artifact(model).with_calibration({"a": 0.5, "b": -2.0}).save(model)
    art = load_artifact(model)
    assert art.summary()["calibration_method"] == "platt"
    (res,) = Scorer.load(model).score(pd.DataFrame({"company_id": ["A"], "x": ["1"]}))
    raw = _sigmoid(np.array(2 * 1.0 - 1.0))  # logit 1
    assert res.pd_model == pytest.approx(float(_sigmoid(0.5 * np.log(raw / (1 - raw)) - 2.0)))
