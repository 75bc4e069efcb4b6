"""Contract -> float32 design matrix: hand-checked encodings and a hypothesis property."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from participant_node.data import Contract, FeatureSpec, Preprocessor, validate_frame

CONTRACT = Contract(
    label="y",
    positive="bad",
    negative="good",
    z_clip=3.0,
    features=(
        FeatureSpec.numeric(
            "income",
            min=0.0,
            max=1e6,
            center=100.0,
            scale=50.0,
            missing="impute",
            fill=80.0,
            indicator=True,
        ),
        FeatureSpec.categorical("grade", ["A", "B", "C"], missing="category"),
        FeatureSpec.numeric("age", min=18.0, max=99.0, center=40.0, scale=10.0),
        FeatureSpec.categorical("term", ["36", "60"]),
    ),
)


def test_feature_names_are_stable_and_match_width() -> None:
    pre = Preprocessor(CONTRACT)
    assert pre.feature_names == [
        "income",
        "income__missing",
        "grade=A",
        "grade=B",
        "grade=C",
        "grade=__missing__",
        "age",
        "term=36",
        "term=60",
    ]
    assert pre.width == len(pre.feature_names)


def test_hand_checked_rows() -> None:
    df = pd.DataFrame(
        {
            "income": [150.0, None, 10_000.0],
            "grade": ["B", None, "A"],
            "age": [40, 20, 45],
            "term": ["60", "36", "36"],
            "y": ["bad", "good", "good"],
        }
    )
    x = Preprocessor(CONTRACT).transform(df)
    assert x.dtype == np.float32 and x.shape == (3, 9)
    np.testing.assert_allclose(x[0], [1.0, 0, 0, 1, 0, 0, 0.0, 0, 1])
    np.testing.assert_allclose(x[1], [-0.4, 1, 0, 0, 0, 1, -2.0, 1, 0])  # (80-100)/50 filled
    np.testing.assert_allclose(x[2], [3.0, 0, 1, 0, 0, 0, 0.5, 1, 0])  # 198 clipped to 3
    assert Preprocessor(CONTRACT).labels(df).tolist() == [1, 0, 0]


def test_standardisation_uses_contract_constants_not_the_batch() -> None:
    df = pd.DataFrame(
        {
            "income": [100.0] * 4,
            "grade": ["A"] * 4,
            "age": [50.0] * 4,
            "term": ["36"] * 4,
            "y": ["bad", "good", "bad", "good"],
        }
    )
    x = Preprocessor(CONTRACT).transform(df)
    assert (x[:, 0] == 0.0).all() and (x[:, 6] == 1.0).all()  # not re-centred on this batch


def test_raw_text_frame_encodes_like_typed_frame() -> None:
    typed = pd.DataFrame(
        {"income": [150.0, np.nan], "grade": ["C", "A"], "age": [30.0, 41.0], "term": ["36", "60"]}
    )
    text = pd.DataFrame(
        {"income": [" 150 ", "NA"], "grade": ["C", "A"], "age": ["30", "41"], "term": [36, 60]}
    )
    pre = Preprocessor(CONTRACT)
    np.testing.assert_array_equal(pre.transform(typed), pre.transform(text))


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("grade", ["A", "Z"], "not among the contract's categories"),
        ("term", ["36", None], "missing policy is 'forbid'"),
        ("age", [30.0, None], "missing policy is 'forbid'"),
        ("age", ["30", "old"], "not finite numbers"),
    ],
)
def test_cells_the_contract_forbids_raise(column: str, values: list[object], message: str) -> None:
    base: dict[str, list[object]] = {
        "income": [1.0, 2.0],
        "grade": ["A", "B"],
        "age": [30.0, 31.0],
        "term": ["36", "60"],
    }
    base[column] = values
    with pytest.raises(ValueError, match=message):
        Preprocessor(CONTRACT).transform(pd.DataFrame(base))


def test_labels_reject_other_values() -> None:
    with pytest.raises(ValueError, match="neither 'bad' nor 'good'"):
        Preprocessor(CONTRACT).labels(pd.DataFrame({"y": ["bad", "ugly"]}))


def test_state_dict_round_trip() -> None:
    pre = Preprocessor(CONTRACT)
    other = Preprocessor(CONTRACT.with_features([FeatureSpec.numeric("z", center=0, scale=1)]))
    other.load_state_dict(pre.state_dict())
    assert other.feature_names == pre.feature_names and other.contract == CONTRACT


def test_missing_feature_column_is_named() -> None:
    with pytest.raises(ValueError, match=r"lacks contract feature column\(s\) \['term'\]"):
        Preprocessor(CONTRACT).transform(
            pd.DataFrame({"income": [1.0], "grade": ["A"], "age": [20.0]})
        )


_rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.floats(0.0, 1e6, allow_nan=False)),
        st.sampled_from(["A", "B", "C", None]),
        st.floats(18.0, 99.0),
        st.sampled_from(["36", "60"]),
        st.sampled_from(["bad", "good"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(_rows)
def test_valid_random_frames_encode_finite_with_contract_width(rows: list[tuple]) -> None:
    df = pd.DataFrame(rows, columns=["income", "grade", "age", "term", "y"])
    report = validate_frame(df, CONTRACT, require_label=False)
    assert report.counts.keys() <= {"label-one-class"}
    pre = Preprocessor(CONTRACT)
    x = pre.transform(df)
    assert x.shape == (len(df), pre.width) and np.isfinite(x).all()
    assert np.abs(x[:, [0, 6]]).max() <= CONTRACT.z_clip
    onehot = x[:, 2:6]
    assert (onehot.sum(axis=1) == 1).all()  # exactly one grade column per row
    assert (x[:, 1] == df["income"].isna().to_numpy()).all()
