"""Member scoring API over real HTTP: one company, batches, limits, the server bound to one
member (other members' keys refused), its warnings, the model summary, role denials, audit
subjects, and the orjson encoding of results."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from participant_node.data import Preprocessor, infer_contract
from participant_node.scoring import ModelArtifact, Scorer
from simulations.serve import AuditLog, KeyStore, ServeSettings, create_app
from simulations.serve.live import live_server


def make_model(path: Path) -> Path:
    """A logistic model on (leverage, region): PD rises steeply with leverage."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "company_id": [f"K{i:03d}" for i in range(40)],
            "leverage": np.round(rng.uniform(0, 1, 40), 3),
            "region": rng.choice(["East", "West"], 40),
            "y": (rng.uniform(size=40) < 0.3).astype(int),
        }
    )
    contract = infer_contract(frame, "y", "1", "company_id")
    assert Preprocessor(contract).feature_names == ["leverage", "region=East", "region=West"]
    params = np.array([3.0, 0.0, 0.0, -2.0])  # weights, then bias
    ModelArtifact(
        kind="logistic",
        n_features=3,
        hidden=0,
        params=params,
        contract=contract,
        graph_feature_columns=(),
        reference=np.zeros(3),
        run_id="run-7",
        round=12,
        attestation={"scheme": "paillier-packed", "dp": True, "epsilon": 2.9},
    ).save(path)
    return path


class Member:
    def __init__(self, base: str, keys: KeyStore, settings: ServeSettings, scorer: Scorer) -> None:
        self.base, self.settings, self.scorer = base, settings, scorer
        self.m01 = keys.add("m01-app", "member", "m01")
        self.m02 = keys.add("m02-app", "member", "m02")
        self.analyst = keys.add("analyst", "risk_analyst")
        self.admin = keys.add("admin", "association_admin")

    def post(self, key: str, body: Any) -> httpx.Response:
        return httpx.post(
            f"{self.base}/v1/scores",
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {key}"},
        )

    def get(self, key: str, path: str, **params: Any) -> httpx.Response:
        return httpx.get(
            f"{self.base}{path}",
            params=params,
            timeout=30,
            headers={"Authorization": f"Bearer {key}"},
        )


@pytest.fixture(scope="module")
def member(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Member]:
    root = tmp_path_factory.mktemp("member")
    model = make_model(root / "model.json")
    settings = ServeSettings(
        role="member",
        member_id="m01",
        model=model,
        keys=root / "keys.sqlite",
        audit=root / "audit.sqlite",
        max_batch=50,
        audit_flush_seconds=0.05,
    )
    app = create_app("member", settings)
    with live_server(app) as base:
        yield Member(base, KeyStore(settings.keys_path), settings, Scorer.load(model))


def record(cid: str, leverage: object, region: str = "East") -> dict[str, Any]:
    return {"company_id": cid, "leverage": leverage, "region": region}


def test_one_company_matches_the_scorer(member: Member) -> None:
    response = member.post(member.m01, {"companies": [record("S1", 0.2)]})
    assert response.status_code == 200, response.text
    body = response.json()
    expected = member.scorer.score_one(record("S1", 0.2)).to_dict()
    got = body["results"][0]
    assert got["pd_final"] == pytest.approx(expected["pd_final"])
    assert (got["points"], got["tier"], got["terms"]) == (
        expected["points"],
        expected["tier"],
        expected["terms"],
    )
    assert got["reasons"][0]["feature"] == "leverage"
    assert body["model_sha256"] == member.scorer.artifact.sha256


def test_batch_keeps_order_and_matches_batch_scoring(member: Member) -> None:
    rows = [record(f"B{i}", i / 10, "East" if i % 2 else "West") for i in range(10)]
    body = member.post(member.m01, {"companies": rows}).json()
    assert [r["company_id"] for r in body["results"]] == [f"B{i}" for i in range(10)]
    pds = [r["pd_final"] for r in body["results"]]
    assert pds == sorted(pds)  # PD rises with leverage
    expected = member.scorer.score(pd.DataFrame(rows))
    assert pds == pytest.approx([e.pd_final for e in expected])


def test_warnings_are_the_bound_members(member: Member) -> None:
    since = pd.Timestamp.now(tz="UTC").isoformat()
    first = member.post(member.m01, {"companies": [record("W1", 0.0)]}).json()["results"][0]
    second = member.post(member.m01, {"companies": [record("W1", 1.0)]}).json()["results"][0]
    assert first["tier"] < second["tier"]  # A < B < C < D: a downgrade
    assert "TIER_DOWNGRADE" in {w["code"] for w in second["warnings"]}
    mine = member.get(member.m01, "/v1/warnings", since=since).json()
    assert mine["member_id"] == "m01"
    assert {(w["company_id"], w["code"]) for w in mine["warnings"]} >= {("W1", "TIER_DOWNGRADE")}
    later = member.get(
        member.m01, "/v1/warnings", since=pd.Timestamp.now(tz="UTC").isoformat()
    ).json()
    assert later == {"member_id": "m01", "warnings": []}


def test_another_members_server_has_its_own_history(member: Member) -> None:
    settings = ServeSettings(
        role="member",
        member_id="m02",
        model=member.settings.model,
        keys=member.settings.keys_path,
        audit=member.settings.audit_path,
    )
    member.post(member.m01, {"companies": [record("H1", 0.0)]})
    with live_server(create_app("member", settings)) as base:
        m02 = {"Authorization": f"Bearer {member.m02}"}
        # m02 scoring a company m01 scored before has no history of its own: no downgrade
        body = {"companies": [record("H1", 1.0)]}
        fresh = httpx.post(f"{base}/v1/scores", json=body, headers=m02, timeout=30).json()
        assert "TIER_DOWNGRADE" not in {w["code"] for w in fresh["results"][0]["warnings"]}
        listed = httpx.get(f"{base}/v1/warnings", headers=m02, timeout=30).json()
        assert listed["member_id"] == "m02"
        # and the m01 key is refused there
        m01 = {"Authorization": f"Bearer {member.m01}"}
        assert httpx.get(f"{base}/v1/model", headers=m01, timeout=30).status_code == 403
    again = member.post(member.m01, {"companies": [record("H1", 1.0)]}).json()["results"][0]
    assert "TIER_DOWNGRADE" in {w["code"] for w in again["warnings"]}


@pytest.mark.parametrize("path", ["/v1/model", "/v1/warnings", "/v1/scores"])
def test_other_members_keys_are_refused_with_a_clear_body(member: Member, path: str) -> None:
    response = (
        member.post(member.m02, {"companies": [record("S9", 0.2)]})
        if path == "/v1/scores"
        else member.get(member.m02, path)
    )
    assert response.status_code == 403, response.text
    assert response.json() == {
        "error": {
            "code": "wrong_member",
            "message": "key 'm02-app' belongs to member 'm02'; this server serves member "
            "'m01' only",
            "field": "Authorization",
        }
    }
    assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'


def test_a_member_server_needs_its_member_id(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"role member needs member_id \(--member-id\)"):
        ServeSettings(role="member", model=tmp_path / "m.json")
    with pytest.raises(ValueError, match="member_id applies to role member only"):
        ServeSettings(role="risk", member_id="m01")


def test_model_summary(member: Member) -> None:
    body = member.get(member.m01, "/v1/model").json()
    assert (body["run_id"], body["round"], body["kind"]) == ("run-7", 12, "logistic")
    assert body["attestation"]["epsilon"] == 2.9
    assert body["sha256"] == member.scorer.artifact.sha256


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"companies": []}, 422, "invalid_parameter", "companies"),
        (
            {"companies": [record(f"X{i}", 0.1) for i in range(51)]},
            413,
            "batch_too_large",
            "companies",
        ),
        (
            {"companies": [{"leverage": 0.1, "region": "East"}]},
            422,
            "missing_id",
            "companies[0].company_id",
        ),
        ({"companies": [record("X", "lots")]}, 422, "invalid_record", "companies"),
        ({"rows": []}, 422, "invalid_parameter", "companies"),
    ],
)
def test_bad_requests_are_clear_4xx(
    member: Member, body: Any, status: int, code: str, field: str
) -> None:
    response = member.post(member.m01, body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field


def test_invalid_record_names_the_column(member: Member) -> None:
    message = member.post(member.m01, {"companies": [record("X", "lots")]}).json()["error"][
        "message"
    ]
    assert "leverage" in message


def test_other_roles_are_refused(member: Member) -> None:
    for key in (member.analyst, member.admin):
        for path in ("/v1/model", "/v1/warnings"):
            denied = member.get(key, path)
            assert denied.status_code == 403
            assert denied.json()["error"]["code"] == "forbidden_role"
        assert member.post(key, {"companies": [record("S1", 0.2)]}).status_code == 403
    assert httpx.get(f"{member.base}/v1/model", timeout=30).status_code == 401


def test_scored_company_ids_are_in_the_audit_log(member: Member) -> None:
    member.post(member.m01, {"companies": [record("AUD1", 0.3), record("AUD2", 0.4)]})
    member.post(member.m02, {"companies": [record("AUD3", 0.3)]})  # refused, still audited
    log = AuditLog(member.settings.audit_path)
    rows: list[dict[str, Any]] = []
    for _ in range(100):  # the writer flushes every 50 ms
        rows = [r for r in log.entries(limit=10_000) if r["key_name"] in ("m01-app", "m02-app")]
        if any(r["subjects"] == "AUD1,AUD2" for r in rows) and rows[-1]["key_name"] == "m02-app":
            break
        time.sleep(0.05)
    log.close()
    scored = [r for r in rows if r["subjects"] == "AUD1,AUD2"]
    assert [
        (r["key_name"], r["member_id"], r["method"], r["path"], r["status"]) for r in scored
    ] == [("m01-app", "m01", "POST", "/v1/scores", 200)]
    assert (rows[-1]["key_name"], rows[-1]["member_id"], rows[-1]["status"]) == (
        "m02-app",
        "m02",
        403,
    )


def test_orjson_body_carries_exactly_the_result_dicts(tmp_path: Path) -> None:
    import orjson

    from participant_node.api.router import encode_scores

    scorer = Scorer.load(make_model(tmp_path / "model.json"))
    scorer.remember([scorer.score_one(record("E1", 0.0))])
    results = scorer.score(pd.DataFrame([record("E1", 1.0), record("E2", 0.5, "West")]))
    assert results[0].warnings and results[0].reasons  # a downgrade and reason codes
    body = orjson.loads(encode_scores("abc", results))
    assert body == {"model_sha256": "abc", "results": [r.to_dict() for r in results]}


def test_orjson_body_unwraps_numpy_and_writes_nan_as_null() -> None:
    import orjson

    from participant_node.api.router import encode_scores
    from participant_node.scoring import ScoreResult

    odd = ScoreResult(
        company_id="X",
        pd_model=np.float64(0.25),
        pd_final=0.25,
        points=600.0,
        tier="B",
        terms={"days": np.int64(45), "text": "45 days"},
        reasons=[{"feature": "leverage", "value": float("nan"), "contribution": 0.5}],
    )
    got = orjson.loads(encode_scores("abc", [odd]))["results"][0]
    assert got["pd_model"] == 0.25 and got["terms"] == {"days": 45, "text": "45 days"}
    assert got["reasons"][0]["value"] is None
    assert set(got) == set(odd.to_dict())


@pytest.mark.parametrize(
    ("raw", "status", "code", "field"),
    [
        (b"{not json", 422, "invalid_json", "body"),
        (b'{"companies": {"company_id": "C1"}}', 422, "invalid_parameter", "companies"),
        (b'{"companies": [["C1", 0.2]]}', 422, "invalid_parameter", "companies[0]"),
        (
            b'{"companies": [{"company_id": "C1", "leverage": {"x": 1}}]}',
            422,
            "invalid_parameter",
            "companies[0].leverage",
        ),
        (b'{"companies": [{"company_id": "", "leverage": 0.1}]}', 422, "missing_id", None),
    ],
)
def test_body_rules_are_named(raw: bytes, status: int, code: str, field: str | None) -> None:
    from fastapi import HTTPException

    from participant_node.api.parse import parse_companies

    with pytest.raises(HTTPException) as caught:
        parse_companies(raw, "company_id", 10)
    detail: Any = caught.value.detail
    assert (caught.value.status_code, detail["code"]) == (status, code)
    assert detail["field"] == (field or "companies[0].company_id")
