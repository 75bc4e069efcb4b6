"""The graph-feature table on a hand-checkable registry, and its atomic writer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from graph_risk.build import frames_from_records
from graph_risk.features import FEATURE_COLUMNS, compute_features, write_features
from graph_risk.frames import GraphFrames

# Triangle A->B->C->A (10, 20, 30), D->A (5), E->D (7, ends 2020-12-31); S alone.
# P controls A (80%) and B (60%); Q controls C (70%) and D (90%); A holds 30% of C.
# C defaulted; every net asset 100.
REGISTRY = frames_from_records(
    companies=[{"company_id": c, "net_assets": 100.0} for c in "ESABCD"],
    guarantees=[
        ("A", "B", 10),
        ("B", "C", 20),
        ("C", "A", 30),
        ("D", "A", 5),
        ("E", "D", 7, "2019-01-01", "2020-12-31"),
    ],
    shareholdings=[
        ("P", "person", "A", 0.8),
        ("P", "person", "B", 0.6),
        ("A", "company", "C", 0.3),
        ("Q", "person", "C", 0.7),
        ("Q", "person", "D", 0.9),
    ],
    defaults=[("C", "2020-06-30")],
)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return compute_features(REGISTRY).set_index("company_id")


def column(table: pd.DataFrame, name: str) -> dict[str, object]:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in table[name].items()}


def test_one_row_per_company_in_input_order_with_every_column() -> None:
    features = compute_features(REGISTRY)

    assert list(features.columns) == list(FEATURE_COLUMNS)
    assert list(features["company_id"]) == list("ESABCD")


def test_circle_and_group_columns(table: pd.DataFrame) -> None:
    assert column(table, "in_guarantee_circle") == dict(
        E=False, S=False, A=True, B=True, C=True, D=False
    )
    assert column(table, "guarantee_circle_count") == dict(E=0, S=0, A=1, B=1, C=1, D=0)
    assert column(table, "shortest_circle_length") == dict(E=0, S=0, A=3, B=3, C=3, D=0)
    assert column(table, "guarantee_group_size") == dict(E=0, S=0, A=3, B=3, C=3, D=0)


def test_degree_and_amount_columns(table: pd.DataFrame) -> None:
    assert column(table, "guarantee_out_degree") == dict(E=1, S=0, A=1, B=1, C=1, D=1)
    assert column(table, "guarantee_in_degree") == dict(E=0, S=0, A=2, B=1, C=1, D=1)
    assert column(table, "guaranteed_amount_out") == dict(E=7, S=0, A=10, B=20, C=30, D=5)
    assert column(table, "guaranteed_amount_in") == dict(E=0, S=0, A=35, B=10, C=20, D=7)


def test_chain_columns(table: pd.DataFrame) -> None:
    # C: B (1 hop), A (2), D (3); called guarantees B->C, A->B, D->A (C->A is C's own).
    assert column(table, "chain_depth") == dict(E=0, S=0, A=2, B=3, C=3, D=1)
    assert column(table, "chain_exposure_amount") == dict(E=0, S=0, A=62, B=52, C=35, D=7)


def test_related_party_columns(table: pd.DataFrame) -> None:
    assert column(table, "related_party_count") == dict(E=0, S=0, A=1, B=1, C=1, D=1)
    assert column(table, "related_party_default_count") == dict(E=0, S=0, A=0, B=0, C=0, D=1)


def test_neighbourhood_columns(table: pd.DataFrame) -> None:
    # C's neighbours: A, B (guarantees) and Q (control); D reaches C via A or Q.
    assert column(table, "defaulted_neighbours_1hop") == dict(E=0, S=0, A=1, B=1, C=0, D=0)
    assert column(table, "defaulted_neighbours_2hop") == dict(E=0, S=0, A=1, B=1, C=0, D=1)


def test_contagion_and_controller_columns(table: pd.DataFrame) -> None:
    # C=1 -> B 0.2 (20/100) -> A 0.02 (10/100) -> D 0.001 (5/100) -> E 0.00007 (7/100).
    assert column(table, "contagion_score") == pytest.approx(
        dict(E=0.00007, S=0.0, A=0.02, B=0.2, C=1.0, D=0.001)
    )
    assert column(table, "ultimate_controller_share") == pytest.approx(
        dict(E=0.0, S=0.0, A=0.8, B=0.6, C=0.7, D=0.9)
    )


def test_scoring_date_drops_expired_guarantees_and_later_defaults() -> None:
    early = compute_features(REGISTRY, at_date="2020-01-01").set_index("company_id")
    late = compute_features(REGISTRY, at_date="2021-06-01").set_index("company_id")

    assert early.loc["C", "contagion_score"] == 0.0
    assert early.loc["E", "guarantee_out_degree"] == 1
    assert late.loc["C", "contagion_score"] == 1.0
    assert late.loc["E", "guarantee_out_degree"] == 0
    assert late.loc["D", "chain_depth"] == 0


def test_options_change_the_columns_they_govern() -> None:
    short = compute_features(
        REGISTRY, max_circle_length=2, chain_hops=1, control_threshold=0.75
    ).set_index("company_id")

    assert short["guarantee_circle_count"].sum() == 0
    assert short["guarantee_group_size"].max() == 3
    assert short.loc["C", "chain_depth"] == 1
    assert column(short, "ultimate_controller_share") == pytest.approx(
        dict(E=0.0, S=0.0, A=0.8, B=0.0, C=0.0, D=0.9)
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_circle_length": 1}, "max circle length"),
        ({"chain_hops": 0}, "chain_hops"),
        ({"control_threshold": 2.0}, "control threshold"),
    ],
)
def test_bad_options_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_features(REGISTRY, **kwargs)  # type: ignore[arg-type]


def test_empty_registry_gives_an_empty_table() -> None:
    features = compute_features(GraphFrames.empty())

    assert list(features.columns) == list(FEATURE_COLUMNS) and features.empty


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_write_features_round_trips_and_leaves_no_temp_files(tmp_path: Path, suffix: str) -> None:
    features = compute_features(REGISTRY)
    target = tmp_path / "out" / f"features{suffix}"

    written = write_features(features, target)

    back = pd.read_parquet(written) if suffix == ".parquet" else pd.read_csv(written)
    assert list(back.columns) == list(FEATURE_COLUMNS)
    assert back["contagion_score"].tolist() == pytest.approx(features["contagion_score"].tolist())
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_write_features_refuses_bad_suffix_and_incomplete_tables(tmp_path: Path) -> None:
    features = compute_features(REGISTRY)
    target = tmp_path / "features.csv"
    target.write_text("previous")

    with pytest.raises(ValueError, match=r"must end in \.parquet or \.csv"):
        write_features(features, tmp_path / "features.xlsx")
    with pytest.raises(ValueError, match="lacks column"):
        write_features(features.drop(columns="contagion_score"), target)
    assert target.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features.csv"]


def test_failed_write_keeps_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    features = compute_features(REGISTRY)
    mixed = features.assign(extra=[{"a": 1}, 1, "x", 2.0, None, [1]])
    target = tmp_path / "features.parquet"
    write_features(features, target)
    before = target.read_bytes()

    with pytest.raises(Exception, match=r"(?i)conver|type"):
        write_features(mixed, target)

    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features.parquet"]
