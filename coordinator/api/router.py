"""The association router: runs, rounds, attestations, members, federated metrics.

Read-only over :class:`coordinator.state.RunStore` (its public methods, via
:mod:`coordinator.api.queries`); auth-agnostic (the app factory attaches the
``association_admin`` guard and the audit log). Store access is serialised by a lock: the
store holds one database connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query

from coordinator.api.models import (
    AttestationList,
    ErrorBody,
    MemberInfo,
    MemberList,
    RoundInfo,
    RoundList,
    RunInfo,
    RunList,
)
from coordinator.api.queries import members, rounds, run_summary
from coordinator.state import RunStore, RunStoreError

T = TypeVar("T")
RunId = Annotated[str, Path(min_length=1, max_length=200, description="Run id.")]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown run."},
    422: {"model": ErrorBody, "description": "A parameter breaks its rule."},
    503: {"model": ErrorBody, "description": "The run store is unreadable or corrupted."},
}


def api_error(status: int, code: str, message: str, field: str | None = None) -> HTTPException:
    """An ``HTTPException`` whose detail is the machine-readable error body."""
    return HTTPException(status, detail={"code": code, "message": message, "field": field})


def create_association_router(store: RunStore) -> APIRouter:
    """The ``/v1`` association router over ``store``."""
    router = APIRouter(prefix="/v1", tags=["association"], responses=ERRORS)
    lock = threading.Lock()

    def read(fn: Callable[[], T]) -> T:
        with lock:
            try:
                return fn()
            except RunStoreError as exc:
                raise api_error(503, "run_store_error", str(exc)) from exc

    def known(run_id: str) -> None:
        ids = read(lambda: {str(r["run_id"]) for r in store.runs()})
        if run_id not in ids:
            raise api_error(404, "unknown_run", f"no run {run_id!r} in the run store", "run_id")

    @router.get("/runs", response_model=RunList, summary="Federated runs and their status")
    def list_runs(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> RunList:
        runs = read(lambda: [run_summary(store, r) for r in store.runs()])
        return RunList(runs=[RunInfo.model_validate(r) for r in runs[-limit:]])

    @router.get(
        "/runs/{run_id}/rounds",
        response_model=RoundList,
        summary="Rounds: participation, cost and federated metrics per round",
    )
    def list_rounds(run_id: RunId) -> RoundList:
        known(run_id)
        found = read(lambda: rounds(store, run_id))
        return RoundList(run_id=run_id, rounds=[RoundInfo.model_validate(r) for r in found])

    @router.get(
        "/runs/{run_id}/attestations",
        response_model=AttestationList,
        summary="Privacy attestations of the aggregated rounds",
    )
    def list_attestations(run_id: RunId) -> AttestationList:
        known(run_id)
        return AttestationList(run_id=run_id, attestations=read(lambda: store.attestations(run_id)))

    @router.get(
        "/members",
        response_model=MemberList,
        summary="Members: rounds taken part, refused, dropped, rejected",
    )
    def list_members(
        run_id: Annotated[str | None, Query(max_length=200, description="Only this run.")] = None,
    ) -> MemberList:
        if run_id is not None:
            known(run_id)
        found = read(lambda: members(store, run_id))
        return MemberList(run_id=run_id, members=[MemberInfo.model_validate(m) for m in found])

    return router
