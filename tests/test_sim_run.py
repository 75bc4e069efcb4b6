"""`fedcredit sim run` end to end: real data, Flower's engine, baselines, report files."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from simulations.cli import app

DATA = Path(__file__).resolve().parents[1] / "data" / "lending_club.csv"
runner = CliRunner()


@pytest.mark.slow
def test_lending_club_by_state_meets_quality_targets(tmp_path: Path) -> None:
    # Execute: the reference configuration (6 members: 5 largest states + rest)
    out = tmp_path / "lc"
    result = runner.invoke(
        app,
        [
            "sim",
            "run",
            "--data",
            str(DATA),
            "--label",
            "Class",
            "--positive",
            "bad",
            "--members",
            "6",
            "--partition",
            "column:addr_state",
            "--rounds",
            "20",
            "--seed",
            "42",
            "--no-dp",
            "--model",
            "logistic",
            "--out",
            str(out),
            "--baselines",
            "--encryption",
            "none",
            "--insecure-plaintext",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    # Assert: schema
    fed = report["federated"]
    assert set(fed) >= {"auc", "ks", "brier", "rounds"}
    assert [r["round"] for r in fed["rounds"]] == list(range(1, 21))
    assert set(report) >= {
        "federated",
        "centralized",
        "local_only",
        "members",
        "privacy",
        "cost",
        "config",
    }
    assert sorted(m["id"] for m in report["members"]) == ["CA", "FL", "IL", "NY", "TX", "rest"]
    assert sum(m["rows"] for m in report["members"]) == 9857
    assert report["privacy"]["encryption"] == "insecure-plaintext"
    assert report["cost"]["bytes_up_per_member_per_round"] > 0
    assert (out / "contract.toml").is_file()
    assert (out / "report.md").read_text().startswith("# fedcredit simulation report")
    assert (out / "auc_per_round.png").stat().st_size > 10_000
    assert (out / "roc.png").stat().st_size > 10_000
    # Assert: histogram-federated AUC is exact, and the quality targets hold
    assert abs(fed["auc"] - fed["auc_exact_pooled"]) <= 0.002
    assert fed["auc"] >= report["centralized"]["auc"] - 0.01
    assert fed["auc"] > report["local_only"]["auc_mean"]


@pytest.mark.slow
def test_any_csv_with_missing_values_and_text_categories_private_by_default(tmp_path: Path) -> None:
    # Prepare: a lending-club sample with holes and renamed labels
    rng = np.random.default_rng(0)
    df = pd.read_csv(DATA).sample(2500, random_state=0)
    df.loc[rng.random(len(df)) < 0.1, "revol_util"] = np.nan
    df.loc[rng.random(len(df)) < 0.1, "emp_length"] = np.nan
    df["Class"] = df["Class"].map({"good": "paid", "bad": "defaulted"})
    path = tmp_path / "loans.csv"
    df.to_csv(path, index=False)
    # Execute
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "sim",
            "run",
            "--data",
            str(path),
            "--label",
            "Class",
            "--positive",
            "defaulted",
            "--members",
            "3",
            "--partition",
            "dirichlet:1.0",
            "--rounds",
            "2",
            "--out",
            str(out),
            "--key-bits",
            "2048",
            "--epsilon",
            "2",
        ],
    )
    # Assert
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert len(report["members"]) == 3
    assert 0.5 < report["federated"]["auc"] <= 1.0
    assert "centralized" not in report  # no --baselines
    # private by default: packed Paillier + DP, attested every round
    priv = report["privacy"]
    assert priv["dp"] is True and priv["encryption"] == "paillier-packed"
    assert priv["key_bits"] == 2048 and 0 < priv["epsilon"] <= 2.0 * 1.000001
    assert set(priv["per_member_epsilon"]) == {m["id"] for m in report["members"]}
    assert len((out / "attestations.jsonl").read_text().splitlines()) == 2
    contract = (out / "contract.toml").read_text()
    assert "revol_util" in contract and "emp_length" in contract


def test_encryption_none_requires_explicit_opt_out(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "sim",
            "run",
            "--data",
            str(DATA),
            "--label",
            "Class",
            "--positive",
            "bad",
            "--out",
            str(tmp_path),
            "--encryption",
            "none",
        ],
    )
    assert result.exit_code == 1
    assert "--insecure-plaintext" in result.output


def test_data_and_consortium_are_exclusive(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "sim",
            "run",
            "--data",
            str(DATA),
            "--consortium",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
            "--insecure-plaintext",
        ],
    )
    assert result.exit_code == 1
    assert "exactly one of --data" in result.output


def test_missing_data_file_is_named(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "sim",
            "run",
            "--data",
            str(tmp_path / "nope.csv"),
            "--label",
            "Class",
            "--positive",
            "bad",
            "--out",
            str(tmp_path / "o"),
            "--insecure-plaintext",
        ],
    )
    assert result.exit_code == 1
    assert "nope.csv" in result.output
