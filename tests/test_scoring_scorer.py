"""Scorer end to end on a hand-checkable portfolio: overlay, evidence, warnings, CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from participant_node.data import Contract, FeatureSpec
from participant_node.graph_join import GRAPH_FEATURES
from participant_node.scoring import (
    RegistryGraph,
    Scorer,
    ScoringPolicy,
    Snapshot,
    WarningState,
    export_model,
    load_artifact,
    pd_to_points,
)
from simulations.cli import app

CONTRACT = Contract(
    label="y",
    positive="1",
    negative="0",
    id_column="company_id",
    features=(
        FeatureSpec.numeric("x", center=0.0, scale=1.0),
        FeatureSpec.categorical("k", ["a", "b"]),
    ),
)
# logit = 1.0 * x + 1.0 * [k=a] - 1.0 * [k=b] - 3.0
FLAT = np.array([1.0, 1.0, -1.0, -3.0])
ROWS = pd.DataFrame(
    {
        "company_id": ["A", "B", "C"],
        "x": ["0", "1", "2.5"],
        "k": ["b", "a", "a"],
        "dpd": ["45", "95", ""],
    }
)


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


@pytest.fixture
def model(tmp_path: Path) -> Path:
    export_model(
        tmp_path / "model.json", flat=FLAT, kind="logistic", hidden=0, contract=CONTRACT,
        run_id="r", round=1, attestations=[], reference=np.array([0.0, 0.5, 0.5]),
    )  # fmt: skip
    return tmp_path / "model.json"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    d = tmp_path / "registry"
    d.mkdir()
    pd.DataFrame(
        {"guarantor_id": ["A", "B"], "borrower_id": ["B", "X"], "amount": [50.0, 400.0],
         "start_date": ["2020-01-01"] * 2, "end_date": ["2030-01-01"] * 2}
    ).to_csv(d / "guarantees.csv", index=False)  # fmt: skip
    pd.DataFrame({"company_id": ["X"], "default_date": ["2026-03-02"]}).to_csv(
        d / "defaults.csv", index=False
    )
    pd.DataFrame({"company_id": ["A", "B", "C", "X"], "net_assets": [100.0, 200, 50, 10]}).to_csv(
        d / "companies.csv", index=False
    )
    return d


def _features() -> pd.DataFrame:
    t = pd.DataFrame({"company_id": ["A", "B", "C"]})
    for c in GRAPH_FEATURES:
        t[c] = 0.0
    t.loc[0, "in_guarantee_circle"] = 1.0
    t.loc[1, "related_party_default_count"] = 2.0
    return t


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]


def test_batch_pd_points_tier_terms_and_reasons(model: Path) -> None:
    res = Scorer.load(model).score(ROWS)
    assert [r.pd_model for r in res] == pytest.approx(
        [_sigmoid(-4.0), _sigmoid(-1.0), _sigmoid(0.5)]
    )
    assert res[0].points == pytest.approx(
        float(pd_to_points(_sigmoid(-4.0), ScoringPolicy())), abs=0.01
    )
    assert [r.tier for r in res] == ["A", "D", "D"]
    assert res[0].terms["days"] == 60 and res[2].terms["days"] == 0
    # reasons vs reference (x=0, k half a / half b): A has k=b -> -1.0; x=0 -> 0 (left out)
    assert res[0].reasons == [
        {"feature": "k", "value": "b", "contribution": -1.0, "effect": "lowers risk"}
    ]
    total = sum(x["contribution"] for x in res[2].reasons)
    assert total == pytest.approx(0.5 - (-3.0))  # logit(C) - logit(reference)
    assert all(not r.overlay and r.pd_final == r.pd_model for r in res)


def test_overlay_evidence_and_graph_warnings(model: Path, registry: Path) -> None:
    scorer = Scorer.load(model, graph=registry, graph_features=_features())
    a, b, c = scorer.score(ROWS)
    # B guarantees X (defaulted, PD 1) with share min(1, 400/200) = 1, W = 0.5
    assert b.pd_final == pytest.approx(1 - (1 - _sigmoid(-1.0)) * 0.5)
    # A guarantees B (model PD, same batch) with share 50/100
    assert a.pd_final == pytest.approx(1 - (1 - _sigmoid(-4.0)) * (1 - 0.5 * 0.5 * _sigmoid(-1.0)))
    assert c.pd_final == c.pd_model and a.overlay
    assert b.evidence == ["guarantees X, which defaulted on 2026-03-02"]
    assert a.evidence == [
        "guarantees X indirectly, which defaulted on 2026-03-02, via chain A -> B -> X"
    ]
    codes = {r.company_id: [w["code"] for w in r.warnings] for r in (a, b, c)}
    assert codes == {
        "A": ["GUARANTEED_DEFAULTED", "ENTERED_GUARANTEE_CIRCLE"],
        "B": ["GUARANTEED_DEFAULTED", "RELATED_PARTY_DEFAULTED"],
        "C": [],
    }


def test_previous_state_and_receivables(model: Path) -> None:
    state = WarningState()
    state.update("C", Snapshot("A", 0.01, False))
    state.update("A", Snapshot("A", 0.018, False))
    policy = ScoringPolicy(receivables_column="dpd")
    scorer = Scorer.load(model, policy=policy, state=state)
    a, b, c = scorer.score(ROWS)
    assert [w["code"] for w in c.warnings] == ["TIER_DOWNGRADE", "PD_JUMP"]
    assert "tier fell from A to D" in c.warnings[0]["reason"]
    assert [w.get("stage") for w in a.warnings] == ["negotiate"]
    assert [w.get("stage") for w in b.warnings] == ["legal"]
    scorer.remember([a, b, c])
    restored = WarningState()
    restored.load_state_dict(scorer.state.state_dict())
    assert restored.get("C") == Snapshot("D", c.pd_final, False)
    # a second run against the remembered state raises no downgrade
    again = Scorer.load(model, policy=policy, state=restored).score(ROWS)
    assert [w["code"] for w in again[2].warnings] == []


def test_bad_receivables_cell_names_row_and_column(model: Path) -> None:
    bad = ROWS.assign(dpd=["45", "-3", ""])
    with pytest.raises(ValueError, match=r"row 2, column dpd: days past due must be >= 0"):
        Scorer.load(model, policy=ScoringPolicy(receivables_column="dpd")).score(bad)


def test_score_one_matches_batch(model: Path) -> None:
    scorer = Scorer.load(model, graph_features=_features(),
                         policy=ScoringPolicy(receivables_column="dpd"))  # fmt: skip
    batch = scorer.score(ROWS)
    for record, expected in zip(_records(ROWS), batch, strict=True):
        one, want = scorer.score_one(record).to_dict(), expected.to_dict()
        for key in ("pd_model", "pd_final"):
            assert one.pop(key) == pytest.approx(want.pop(key), rel=1e-12)
        assert one == want


def test_model_with_graph_features_needs_the_table(tmp_path: Path) -> None:
    contract = CONTRACT.with_features(
        [FeatureSpec.numeric("contagion_score", center=0.0, scale=1.0)]
    )
    export_model(
        tmp_path / "g.json", flat=np.zeros(5), kind="logistic", hidden=0, contract=contract,
        run_id="r", round=1, attestations=[], graph_feature_columns=GRAPH_FEATURES,
    )  # fmt: skip
    assert load_artifact(tmp_path / "g.json").graph_feature_columns == ("contagion_score",)
    with pytest.raises(ValueError, match="uses graph features"):
        Scorer.load(tmp_path / "g.json")


def test_registry_graph_respects_hops_and_dates(registry: Path) -> None:
    g = RegistryGraph.from_dir(registry)
    assert [c.path for c in g.default_chains("A", 1)] == []
    assert [c.path for c in g.default_chains("A", 2)] == [("A", "B", "X")]
    assert RegistryGraph.from_dir(registry, at_date="2026-01-01").default_date("X") is None
    with pytest.raises(ValueError, match=r"hops must be in \[1, 4\]; got 7"):
        g.default_chains("A", 7)


def test_cli_score_writes_scores_and_calibration(
    model: Path, registry: Path, tmp_path: Path
) -> None:
    data = tmp_path / "customers.csv"
    ROWS.assign(y=["0", "1", "1"]).to_csv(data, index=False)
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(
        app,
        ["node", "score", "--model", str(model), "--data", str(data), "--out", str(out),
         "--graph", str(registry)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "contagion overlay: on" in result.output and "calibration" in result.output
    scores = pd.read_csv(out, dtype={"company_id": str})
    assert scores["company_id"].tolist() == ["A", "B", "C"]
    assert scores["tier"].tolist() == ["C", "D", "D"]  # A: PD 0.018 -> 0.084 by the overlay
    assert "GUARANTEED_DEFAULTED" in str(scores.loc[1, "warnings"])
    assert (tmp_path / "scores.calibration.json").is_file()


def test_cli_score_rejects_bad_rows_and_writes_nothing(model: Path, tmp_path: Path) -> None:
    data = tmp_path / "customers.csv"
    ROWS.assign(k=["b", "coal", "a"]).to_csv(data, index=False)
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(
        app, ["node", "score", "--model", str(model), "--data", str(data), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "coal" in result.output and "k" in result.output
    assert not out.exists()
