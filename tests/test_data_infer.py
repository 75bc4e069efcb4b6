"""Contract inference on the real Lending Club file and on tiny hand-made member tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from participant_node.data import (
    MISSING_CATEGORY,
    Preprocessor,
    infer_contract,
    infer_contract_file,
    load_contract,
    read_table,
    validate_file,
)

LENDING_CLUB = Path(__file__).resolve().parents[1] / "data" / "lending_club.csv"


@pytest.fixture(scope="module")
def lending() -> pd.DataFrame:
    return pd.read_csv(LENDING_CLUB)


def test_lending_club_types(lending: pd.DataFrame) -> None:
    c = infer_contract(lending, label="Class", positive="bad")
    types = {f.name: f.type for f in c.features}
    assert len(types) == 22
    for col in ("term", "sub_grade", "addr_state", "emp_length", "verification_status"):
        assert types[col] == "categorical", col
    for col in (
        "funded_amnt",
        "int_rate",
        "annual_inc",
        "revol_util",
        "acc_now_delinq",
        "inq_last_6mths",
    ):
        assert types[col] == "numeric", col
    assert (c.label, c.positive, c.negative) == ("Class", "bad", "good")
    states = c.feature("addr_state").categories
    assert len(states) == 50 and list(states) == sorted(states) and "CA" in states
    assert c.feature("term").categories == ("term_36", "term_60")


def test_lending_club_ranges_and_scaling_match_the_data(lending: pd.DataFrame) -> None:
    c = infer_contract(lending, label="Class", positive="bad")
    rate = c.feature("int_rate")
    observed = lending["int_rate"]
    assert rate.min is not None and rate.max is not None
    assert rate.min <= observed.min() and rate.max >= observed.max()
    assert rate.min >= 0.0  # non-negative column stays non-negative
    assert rate.center == pytest.approx(observed.mean(), rel=1e-5)
    assert rate.scale == pytest.approx(observed.std(ddof=0), rel=1e-5)
    assert rate.missing == "forbid" and not rate.indicator  # the file has no gaps


def test_lending_club_file_validates_and_encodes(lending: pd.DataFrame, tmp_path: Path) -> None:
    c = infer_contract_file(LENDING_CLUB, label="Class", positive="bad")
    assert c.fingerprint() == infer_contract(lending, "Class", "bad").fingerprint()
    report = validate_file(LENDING_CLUB, c)
    assert report.ok, str(report)
    assert (report.rows, report.positives) == (9857, int((lending["Class"] == "bad").sum()))
    back = load_contract(c.save(tmp_path / "lc.toml"))
    x = Preprocessor(back).transform(read_table(LENDING_CLUB, back))
    assert x.shape == (9857, 17 + 2 + 35 + 50 + 3 + 12)


def _members_fixture() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "company_id": ["C001", "C002", "C003", "C004", "C005", "C006"],
            "industry": ["retail", "manufacturing", "retail", None, "logistics", "retail"],
            "region": ["east", "west", "east", "north", "west", "east"],
            "days_past_due_avg": [0.0, 12.5, 3.0, 40.0, 0.0, 1.5],
            "roa": [0.05, np.nan, 0.02, -0.01, np.nan, 0.04],
            "relationship_months": [12, 48, 6, 30, 2, 18],
            "default_6m": [0, 1, 0, 1, 0, 0],
        }
    )


def test_member_table_policies() -> None:
    c = infer_contract(_members_fixture(), label="default_6m", positive="1", id_column="company_id")
    assert c.id_column == "company_id" and c.feature_names == (
        "industry",
        "region",
        "days_past_due_avg",
        "roa",
        "relationship_months",
    )
    roa = c.feature("roa")
    assert (roa.missing, roa.indicator) == ("impute", True)
    assert roa.fill == pytest.approx(0.03)  # median of 0.05, 0.02, -0.01, 0.04
    assert roa.min is not None and roa.min < -0.01  # negative column: no clamp at 0
    industry = c.feature("industry")
    assert industry.categories == ("logistics", "manufacturing", "retail")
    assert industry.missing == "category"
    assert c.feature("region").missing == "forbid"
    pre = Preprocessor(c)
    assert (
        f"industry={MISSING_CATEGORY}" in pre.feature_names and "roa__missing" in pre.feature_names
    )


def test_member_csv_round_trip_validates(tmp_path: Path) -> None:
    path = tmp_path / "m01.csv"
    _members_fixture().to_csv(path, index=False)
    c = infer_contract(pd.read_csv(path), label="default_6m", positive="1", id_column="company_id")
    report = validate_file(path, c)
    assert report.ok, str(report)
    assert report.missing["roa"] == 2 and report.missing["industry"] == 1


def test_leading_zero_codes_are_categorical_and_forced_columns() -> None:
    df = pd.DataFrame(
        {"region_code": ["01", "02", "10", "01"], "grade": [1, 2, 3, 1], "y": ["n", "y", "n", "y"]}
    )
    c = infer_contract(df, label="y", positive="y")
    assert c.feature("region_code").type == "categorical"
    assert c.feature("region_code").categories == ("01", "02", "10")
    assert c.feature("grade").type == "numeric"
    forced = infer_contract(df, label="y", positive="y", categorical=["grade"])
    assert forced.feature("grade").categories == ("1", "2", "3")


def test_text_with_many_values_and_empty_columns_are_excluded() -> None:
    n = 150
    df = pd.DataFrame(
        {
            "name": [f"firm {i}" for i in range(n)],
            "empty": [None] * n,
            "x": np.arange(n, dtype=float),
            "y": [i % 2 for i in range(n)],
        }
    )
    c = infer_contract(df, label="y", positive="1")
    assert c.feature_names == ("x",)
    assert set(c.exclude) == {"name", "empty"}
    assert "name (150 distinct text values > 100)" in c.description


def test_text_numbers_with_gaps_are_numeric() -> None:
    df = pd.DataFrame({"x": ["1.5", " 2 ", "NA", "", "3e2"], "y": ["a", "b", "a", "b", "a"]})
    x = infer_contract(df, label="y", positive="b").feature("x")
    assert x.type == "numeric" and x.missing == "impute" and x.fill == 2.0


@pytest.mark.parametrize(
    ("labels", "positive", "message"),
    [
        (["a", "b", "c"], "a", "exactly 2 distinct values; found 3"),
        (["a", "a", "a"], "a", "exactly 2 distinct values; found 1"),
        (["a", "b", "a"], "z", "positive value 'z' does not occur"),
    ],
)
def test_label_must_be_binary_with_positive(labels: list[str], positive: str, message: str) -> None:
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": labels})
    with pytest.raises(ValueError, match=message):
        infer_contract(df, label="y", positive=positive)


def test_unknown_columns_are_named() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})
    with pytest.raises(ValueError, match=r"label column\(s\) \['target'\] not found"):
        infer_contract(df, label="target", positive="1")
    with pytest.raises(ValueError, match=r"id_column column\(s\) \['id'\] not found"):
        infer_contract(df, label="y", positive="1", id_column="id")
