"""Association API over real HTTP on a hand-made run store: runs, rounds (participation,
refusals, dropouts, metrics), attestations, members, unknown runs, role denials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from coordinator.state import Checkpoint, Participation, RunStore
from privacy import InsecurePlaintextCodec
from simulations.serve import KeyStore, ServeSettings, create_app
from simulations.serve.live import live_server


def checkpoint(
    rnd: int, took_part: tuple[str, ...], others: tuple[Participation, ...], auc: float
) -> Checkpoint:
    payload = InsecurePlaintextCodec().encode(np.array([1.0, 2.0]), weight=1)
    return Checkpoint(
        run_id="run-1",
        round=rnd,
        phase="train",
        payload=payload,
        members=took_part,
        failed=tuple(p.member for p in others),
        bytes_up=100 * rnd,
        seconds=0.5 * rnd,
        attestation={"round": rnd, "scheme": "paillier-packed", "members": list(took_part)},
        participation=tuple(Participation(m, "took_part") for m in took_part) + others,
        metrics={"auc": auc},
    )


def build_store(path: Path) -> Path:
    with RunStore(path) as store:
        store.start_run("run-1", {"rounds": 3, "encryption": "paillier"})
        store.save_checkpoint(checkpoint(1, ("m1", "m2", "m3"), (), 0.61))
        store.save_checkpoint(
            checkpoint(
                2, ("m1", "m2"), (Participation("m3", "refused", "privacy budget exhausted"),), 0.64
            )
        )
        store.record_round_failure(
            "run-1",
            3,
            "train",
            (
                Participation("m1", "took_part"),
                Participation("m2", "dropped", "timeout"),
                Participation("m3", "refused", "privacy budget exhausted"),
            ),
        )
        store.finish_run("run-1", "stalled", "round 3: 1 of 3 members replied (min 2)")
        store.start_run("run-2", {"rounds": 1})
    return path


class Assoc:
    def __init__(self, base: str, keys: KeyStore) -> None:
        self.base = base
        self.admin = keys.add("admin", "association_admin")
        self.analyst = keys.add("analyst", "risk_analyst")

    def get(self, path: str, key: str | None, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.get(f"{self.base}{path}", params=params, headers=headers, timeout=30)

    def ok(self, path: str, **params: Any) -> Any:
        response = self.get(path, self.admin, **params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def assoc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assoc]:
    root = tmp_path_factory.mktemp("assoc")
    settings = ServeSettings(
        role="association",
        run_store=build_store(root / "runs.sqlite"),
        keys=root / "keys.sqlite",
        audit=root / "audit.sqlite",
    )
    with live_server(create_app("association", settings)) as base:
        yield Assoc(base, KeyStore(settings.keys_path))


def test_runs_with_status_and_reason(assoc: Assoc) -> None:
    runs = assoc.ok("/v1/runs")["runs"]
    assert [(r["run_id"], r["status"], r["rounds_completed"]) for r in runs] == [
        ("run-1", "stalled", 2),
        ("run-2", "running", 0),
    ]
    assert runs[0]["reason"].startswith("round 3")
    assert runs[0]["config"] == {"rounds": 3, "encryption": "paillier"}


def test_rounds_show_participation_and_metrics(assoc: Assoc) -> None:
    body = assoc.ok("/v1/runs/run-1/rounds")
    assert [(r["round"], r["aggregated"]) for r in body["rounds"]] == [
        (1, True),
        (2, True),
        (3, False),
    ]
    second = body["rounds"][1]
    assert second["members"] == ["m1", "m2"]
    assert second["metrics"]["train"] == {"auc": 0.64}
    assert (second["seconds"], second["bytes_up"]) == (1.0, 200)
    assert {(p["member"], p["status"], p["reason"]) for p in second["participation"]} == {
        ("m1", "took_part", ""),
        ("m2", "took_part", ""),
        ("m3", "refused", "privacy budget exhausted"),
    }
    third = body["rounds"][2]
    assert {p["member"]: p["status"] for p in third["participation"]} == {
        "m1": "took_part",
        "m2": "dropped",
        "m3": "refused",
    }


def test_attestations(assoc: Assoc) -> None:
    body = assoc.ok("/v1/runs/run-1/attestations")
    assert [a["round"] for a in body["attestations"]] == [1, 2]
    assert body["attestations"][1]["members"] == ["m1", "m2"]


def test_members_count_refusals_and_dropouts(assoc: Assoc) -> None:
    body = assoc.ok("/v1/members")
    by = {m["member"]: m for m in body["members"]}
    assert (by["m1"]["took_part"], by["m1"]["refused"]) == (3, 0)
    assert (by["m2"]["took_part"], by["m2"]["dropped"]) == (2, 1)
    assert (by["m3"]["took_part"], by["m3"]["refused"]) == (1, 2)
    assert by["m3"]["last_reasons"] == {"refused": "privacy budget exhausted"}
    assert assoc.ok("/v1/members", run_id="run-2")["members"] == []


@pytest.mark.parametrize("path", ["/v1/runs/nope/rounds", "/v1/runs/nope/attestations"])
def test_unknown_run_is_404(assoc: Assoc, path: str) -> None:
    response = assoc.get(path, assoc.admin)
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "unknown_run",
        "message": "no run 'nope' in the run store",
        "field": "run_id",
    }


def test_only_the_association_admin_is_admitted(assoc: Assoc) -> None:
    assert assoc.get("/v1/runs", None).status_code == 401
    denied = assoc.get("/v1/members", assoc.analyst)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "forbidden_role")
