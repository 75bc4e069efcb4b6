"""Risk-team graph API over real HTTP (uvicorn on a free port) on a hand-checkable graph.

The graph: guarantee circle A -> B -> C -> A (100, 50, 75); chain F -> D -> E (20, 40) with
D -> F (10) closing the 2-circle D <-> F; E defaulted. P1 holds 60% of A, P2 40% of A and 30%
of C; A holds 70% of B. Net assets 1000 except D (100).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph_risk.backends import open_backend
from graph_risk.ingest import read_graph_dir
from simulations.serve import KeyStore, ServeSettings, create_app
from simulations.serve.live import live_server

COMPANY = {
    "industry": "trade",
    "region": "East",
    "registered_capital": "10",
    "total_assets": "2000",
    "net_assets": "1000",
    "founded_year": "2010",
}
TABLES: dict[str, list[dict[str, str]]] = {
    "companies": [
        {"company_id": "A", "name": "Alpha Co", **COMPANY},
        {"company_id": "B", "name": "Beta Steel", **COMPANY},
        {"company_id": "C", "name": "Gamma Trade", **COMPANY},
        {"company_id": "D", "name": "Delta Build", **COMPANY, "net_assets": "100"},
        {"company_id": "E", "name": "Epsilon Foods", **COMPANY},
        {"company_id": "F", "name": "Foxtrot Retail", **COMPANY},
    ],
    "persons": [{"person_id": "P1", "name": "Li Wei"}, {"person_id": "P2", "name": "Wang Fang"}],
    "shareholdings": [
        {"holder_id": "P1", "holder_type": "person", "company_id": "A", "share": "0.6"},
        {"holder_id": "P2", "holder_type": "person", "company_id": "A", "share": "0.4"},
        {"holder_id": "A", "holder_type": "company", "company_id": "B", "share": "0.7"},
        {"holder_id": "P2", "holder_type": "person", "company_id": "C", "share": "0.3"},
    ],
    "guarantees": [
        {
            "guarantor_id": g,
            "borrower_id": b,
            "amount": a,
            "start_date": "2024-01-01",
            "end_date": "2027-01-01",
        }
        for g, b, a in [
            ("A", "B", "100"),
            ("B", "C", "50"),
            ("C", "A", "75"),
            ("D", "E", "40"),
            ("F", "D", "20"),
            ("D", "F", "10"),
        ]
    ],
    "defaults": [{"company_id": "E", "default_date": "2025-03-01"}],
}


def write_graph(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in TABLES.items():
        with (directory / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return directory


class Api:
    """A live risk server plus keys."""

    def __init__(self, base: str, keys: KeyStore, settings: ServeSettings) -> None:
        self.base = base
        self.keys = keys
        self.settings = settings
        self.analyst = keys.add("analyst", "risk_analyst")
        self.member = keys.add("member-m01", "member", "m01")

    def get(self, path: str, key: str | None = None, **params: Any) -> httpx.Response:
        headers = {} if key is None else {"Authorization": f"Bearer {key}"}
        return httpx.get(f"{self.base}{path}", params=params, headers=headers, timeout=30)

    def ok(self, path: str, **params: Any) -> Any:
        response = self.get(path, self.analyst, **params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("risk")
    frames, sources = read_graph_dir(write_graph(root / "graph"))
    with open_backend("networkx", store=root / "store") as backend:
        backend.upsert(frames, sources)
    settings = ServeSettings(
        role="risk",
        store=root / "store",
        keys=root / "keys.sqlite",
        audit=root / "audit.sqlite",
        audit_flush_seconds=0.05,
        auth_cache_seconds=0.2,
    )
    app = create_app("risk", settings)
    with live_server(app) as base:
        yield Api(base, KeyStore(settings.keys_path), settings)


def test_profile_has_registry_row_default_and_features(api: Api) -> None:
    body = api.ok("/v1/graph/companies/E")
    assert (body["name"], body["defaulted"], body["default_date"]) == (
        "Epsilon Foods",
        True,
        "2025-03-01",
    )
    assert body["features"]["contagion_score"] == 1.0
    assert api.ok("/v1/graph/companies/A")["features"]["in_guarantee_circle"] is True


def test_search_by_id_and_case_insensitive_name_prefix(api: Api) -> None:
    assert [r["company_id"] for r in api.ok("/v1/graph/companies", query="gam")["results"]] == ["C"]
    hits = api.ok("/v1/graph/companies", query="D", limit=5)["results"]
    assert [h["company_id"] for h in hits] == ["D"]
    assert hits[0]["in_guarantee_circle"] is True


def test_controllers_with_integrated_share_and_path(api: Api) -> None:
    body = api.ok("/v1/graph/companies/B/controllers")
    assert body["controller"] == "P1"
    assert body["integrated_share"] == pytest.approx(0.6 * 0.7)
    assert body["paths"] == [
        [
            {"source": "P1", "target": "A", "value": 0.6},
            {"source": "A", "target": "B", "value": 0.7},
        ]
    ]
    owners = api.ok("/v1/graph/companies/C/controllers")
    assert owners["controller"] is None
    assert [(o["holder"], o["integrated_share"]) for o in owners["beneficial_owners"]] == [
        ("P2", pytest.approx(0.3))
    ]


def test_related_parties_share_a_controller(api: Api) -> None:
    body = api.ok("/v1/graph/companies/A/related-parties")
    assert body["members"] == ["B"]
    assert {(link["company_id"], link["kind"], link["value"]) for link in body["links"]} == {
        ("A", "controller", "P1"),
        ("B", "controller", "P1"),
    }


def test_guarantee_circles_of_a_company(api: Api) -> None:
    body = api.ok("/v1/graph/companies/B/guarantee-circles")
    assert body["circles"] == [
        {"members": ["A", "B", "C"], "amounts": [100.0, 50.0, 75.0], "length": 3}
    ]
    assert api.ok("/v1/graph/companies/E/guarantee-circles")["circles"] == []


def test_exposure_grows_with_hops(api: Api) -> None:
    one = api.ok("/v1/graph/companies/E/exposure", hops=1)
    assert (one["exposed"], one["amount"], one["companies"]) == (
        1,
        40.0,
        [{"company_id": "D", "hop": 1}],
    )
    two = api.ok("/v1/graph/companies/E/exposure", hops=2)
    assert (two["exposed"], two["amount"], two["depth"]) == (2, 60.0, 2)
    assert two["paths"][1] == [
        {"source": "F", "target": "D", "value": 20.0},
        {"source": "D", "target": "E", "value": 40.0},
    ]
    assert api.ok("/v1/graph/companies/E/exposure", hops=3)["amount"] == 70.0


def test_contagion_what_if(api: Api) -> None:
    body = api.ok("/v1/graph/companies/E/contagion")
    # D loses min(1, 40/100) = 0.4; F loses 20/1000 * 0.4 = 0.008; F passes 10/100 * 0.008
    # back to D: 0.4 * 100 + 0.008 * 1000 + 0.0008 * 100 = 48.08
    assert {a["company_id"]: a["loss"] for a in body["affected"]} == {
        "D": pytest.approx(0.4008),
        "F": pytest.approx(0.008),
    }
    assert body["system_loss"] == pytest.approx(48.08)
    assert body["relative_loss"] == pytest.approx(48.08 / 5100)
    assert body["contagion_score"] == 1.0


def test_neighbourhood_is_the_induced_ego_network(api: Api) -> None:
    body = api.ok("/v1/graph/companies/A/neighbourhood", hops=1, limit=50)
    assert sorted(n["id"] for n in body["nodes"]) == ["A", "B", "C", "P1", "P2"]
    pairs = sorted((e["source"], e["target"], e["kind"]) for e in body["edges"])
    assert pairs == [
        ("A", "B", "guarantee"),
        ("A", "B", "shareholding"),
        ("B", "C", "guarantee"),
        ("C", "A", "guarantee"),
        ("P1", "A", "shareholding"),
        ("P2", "A", "shareholding"),
        ("P2", "C", "shareholding"),
    ]
    control = {(e["source"], e["target"]) for e in body["edges"] if e["control"]}
    assert control == {("P1", "A"), ("A", "B")}
    assert body["truncated"] is False


def test_neighbourhood_limit_truncates_nearest_first(api: Api) -> None:
    body = api.ok("/v1/graph/companies/A/neighbourhood", hops=2, limit=2)
    assert body["truncated"] is True
    assert [(n["id"], n["hop"]) for n in body["nodes"]] == [("A", 0), ("B", 1)]
    assert [(e["source"], e["target"]) for e in body["edges"]] == [("A", "B"), ("A", "B")]


def test_all_circles_paginate_with_a_cursor(api: Api) -> None:
    first = api.ok("/v1/graph/guarantee-circles", limit=1)
    assert (first["total"], first["circles"][0]["members"]) == (2, ["D", "F"])
    second = api.ok("/v1/graph/guarantee-circles", limit=1, cursor=first["next_cursor"])
    assert second["circles"][0]["members"] == ["A", "B", "C"]
    assert second["next_cursor"] is None
    assert api.ok("/v1/graph/guarantee-circles", min_length=3)["total"] == 1


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "field"),
    [
        ("/v1/graph/companies/ZZZ", {}, 404, "unknown_company", "company_id"),
        ("/v1/graph/companies/ZZZ/neighbourhood", {}, 404, "unknown_company", "company_id"),
        ("/v1/graph/companies/A/neighbourhood", {"hops": 5}, 422, "invalid_parameter", "hops"),
        ("/v1/graph/companies/A/neighbourhood", {"limit": 0}, 422, "invalid_parameter", "limit"),
        ("/v1/graph/companies/A/exposure", {"hops": "x"}, 422, "invalid_parameter", "hops"),
        ("/v1/graph/guarantee-circles", {"limit": 201}, 422, "invalid_parameter", "limit"),
        ("/v1/graph/guarantee-circles", {"cursor": "Z2FyYmFnZQ"}, 400, "invalid_cursor", "cursor"),
        ("/v1/graph/guarantee-circles", {"cursor": "bad!"}, 422, "invalid_parameter", "cursor"),
        ("/v1/graph/companies", {"query": ""}, 422, "invalid_parameter", "query"),
    ],
)
def test_bad_input_is_a_clear_4xx(
    api: Api, path: str, params: dict[str, Any], status: int, code: str, field: str
) -> None:
    response = api.get(path, api.analyst, **params)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field


def test_a_cursor_from_another_min_length_is_refused(api: Api) -> None:
    cursor = api.ok("/v1/graph/guarantee-circles", limit=1)["next_cursor"]
    response = api.get("/v1/graph/guarantee-circles", api.analyst, cursor=cursor, min_length=3)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_roles_are_enforced(api: Api) -> None:
    none = api.get("/v1/graph/companies/A")
    assert none.status_code == 401
    assert none.headers["www-authenticate"] == "Bearer"
    wrong = api.get("/v1/graph/companies/A", "fck_not-a-key")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_key")
    member = api.get("/v1/graph/companies/A", api.member)
    assert (member.status_code, member.json()["error"]["code"]) == (403, "forbidden_role")
    assert "insufficient_scope" in member.headers["www-authenticate"]


def test_revoked_key_stops_working_once_its_cache_entry_expires(api: Api) -> None:
    key = api.keys.add("short-lived", "risk_analyst")
    assert api.get("/v1/graph/companies/A", key).status_code == 200
    api.keys.revoke("short-lived")  # another connection, as `fedcredit auth revoke`
    time.sleep(0.25)  # the server trusts a verified key for auth_cache_seconds=0.2
    assert api.get("/v1/graph/companies/A", key).status_code == 401


def test_explorer_page_is_served_without_a_key(api: Api) -> None:
    response = httpx.get(f"{api.base}/", follow_redirects=True, timeout=30)
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert str(response.url).endswith("/explorer/")


def test_health_reports_ready_once_the_index_is_prepared(api: Api) -> None:
    deadline = time.monotonic() + 30
    body = httpx.get(f"{api.base}/healthz", timeout=30).json()
    while not body["ready"] and time.monotonic() < deadline:
        time.sleep(0.05)
        body = httpx.get(f"{api.base}/healthz", timeout=30).json()
    assert body == {"status": "ok", "role": "risk", "ready": True}
