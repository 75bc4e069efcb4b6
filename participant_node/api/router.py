"""The member scoring router: ``POST /v1/scores``, ``GET /v1/warnings``, ``GET /v1/model``.

Auth-agnostic: the app factory attaches authentication and puts the caller on
``request.state.principal``. The router serves one member (``member_id``, the member the server
is bound to): its warning state (tier downgrades and PD jumps compare with this member's
previous score of the company) and its warning list. A principal of another member -- or
without a member id -- is refused with ``403 wrong_member`` (the factory's guard refuses it
first; this is the second lock). Without a principal (no auth attached, unit tests) the caller
is taken to be the member.

The hot path is kept lean (profiled, see ``benchmarks/scoring_api.py``): the body is parsed
with orjson and checked by :func:`parse_companies` instead of a pydantic model (the schema is
still documented in OpenAPI through ``openapi_extra``), and the :class:`ScoreResult` dataclasses
are serialised by orjson directly (no ``to_dict`` copies, no response-model validation). One
company takes the low-latency path (:meth:`Scorer.score_one`, no pandas, on the event loop); a
batch is scored vectorised (:meth:`Scorer.score`) in the thread pool. Scoring holds a lock: the
scorer's warning state moves on with every score.
"""

from __future__ import annotations

import collections
import threading
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from participant_node.api.models import (
    ErrorBody,
    ModelInfo,
    ScoreRequest,
    ScoreResponse,
    WarningEntry,
    WarningList,
)
from participant_node.api.parse import parse_companies
from participant_node.scoring import Scorer, ScoreResult

MAX_WARNINGS_KEPT = 100_000
MAX_WARNINGS_PAGE = 1000
AUDIT_SUBJECTS = 20
INLINE_BATCH = 16
JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY

ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "The key belongs to another member."},
    413: {"model": ErrorBody, "description": "Batch larger than the server's limit."},
    422: {"model": ErrorBody, "description": "A record or parameter breaks its rule."},
}
SCORE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ScoreRequest.model_json_schema()}},
    }
}


def api_error(status: int, code: str, message: str, field: str | None = None) -> HTTPException:
    """An ``HTTPException`` whose detail is the machine-readable error body."""
    return HTTPException(status, detail={"code": code, "message": message, "field": field})


def encode_scores(model_sha256: str, results: list[ScoreResult]) -> bytes:
    """The ``POST /v1/scores`` body: ``{"model_sha256", "results"}``, each result the fields of
    :meth:`ScoreResult.to_dict` (orjson serialises the dataclass itself; NaN becomes null)."""
    return orjson.dumps(
        {"model_sha256": model_sha256, "results": results},
        option=JSON_OPTIONS,
        default=_plain,
    )


def _plain(value: object) -> object:
    item = getattr(value, "item", None)  # numpy scalars that orjson does not know
    if callable(item):
        return item()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


class _Book:
    """The member's warnings, newest last."""

    def __init__(self) -> None:
        self.warnings: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=MAX_WARNINGS_KEPT
        )


def create_scoring_router(
    scorer: Scorer, *, member_id: str = "local", max_batch: int = 10_000
) -> APIRouter:
    """The scoring router of member ``member_id`` over ``scorer`` (batches of at most
    ``max_batch`` companies)."""
    if not 1 <= max_batch <= 100_000:
        raise ValueError(f"max_batch must be in [1, 100000]; got {max_batch}")
    if not member_id:
        raise ValueError("member_id must be a non-empty member id")
    router = APIRouter(prefix="/v1", tags=["scoring (member)"], responses=ERRORS)
    book = _Book()
    lock = threading.Lock()
    model_sha = scorer.artifact.sha256
    id_column = scorer.id_column

    def check_member(request: Request) -> None:
        principal = getattr(request.state, "principal", None)
        if principal is None:
            return
        theirs = getattr(principal, "member_id", None)
        if theirs != member_id:
            raise api_error(
                403,
                "wrong_member",
                f"this server serves member {member_id!r}; the key is for "
                f"{'member ' + repr(theirs) if theirs else 'no member'}",
                "Authorization",
            )

    def score_locked(companies: list[dict[str, Any]]) -> bytes:
        try:
            if len(companies) == 1:
                results = [scorer.score_one(companies[0])]
            else:
                results = scorer.score(pd.DataFrame.from_records(companies))
        except ValueError as exc:  # RecordError is a ValueError; names row/column
            raise api_error(422, "invalid_record", str(exc), "companies") from exc
        scorer.remember(results)
        if any(r.warnings for r in results):
            at = datetime.now(UTC).isoformat(timespec="milliseconds")
            now = time.time()
            for r in results:
                for w in r.warnings:
                    book.warnings.append(
                        {
                            "at": at,
                            "ts": now,
                            "company_id": r.company_id,
                            "tier": r.tier,
                            "pd_final": r.pd_final,
                            "code": w["code"],
                            "reason": w["reason"],
                            "stage": w.get("stage"),
                        }
                    )
        return encode_scores(model_sha, results)

    def score(companies: list[dict[str, Any]]) -> bytes:
        with lock:
            return score_locked(companies)

    @router.post(
        "/scores",
        response_model=ScoreResponse,
        summary="Score companies: PD, points, tier, terms, reasons, warnings",
        openapi_extra=SCORE_BODY,
    )
    async def post_scores(request: Request) -> Response:
        check_member(request)
        companies = parse_companies(await request.body(), id_column, max_batch)
        ids = [str(c[id_column]) for c in companies[: AUDIT_SUBJECTS + 1]]
        shown = ",".join(ids[:AUDIT_SUBJECTS])
        more = len(companies) - AUDIT_SUBJECTS
        request.state.audit_subjects = shown + (f" (+{more} more)" if more > 0 else "")
        # a few companies are scored on the event loop (well under a millisecond, no thread
        # hop) unless a batch holds the scorer; a batch goes to the thread pool so it does
        # not stall other requests' I/O
        if len(companies) <= INLINE_BATCH and lock.acquire(blocking=False):
            try:
                body = score_locked(companies)
            finally:
                lock.release()
        else:
            body = await run_in_threadpool(score, companies)
        return Response(body, media_type="application/json")

    @router.get(
        "/warnings",
        response_model=WarningList,
        summary="Early warnings this member's scores raised since a time",
    )
    def get_warnings(
        request: Request,
        since: Annotated[
            datetime | None,
            Query(description="ISO 8601 time; only warnings after it (default: all kept)."),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_WARNINGS_PAGE)] = 100,
    ) -> WarningList:
        check_member(request)
        after = float("-inf")
        if since is not None:
            moment = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
            after = moment.timestamp()
        with lock:
            kept = list(book.warnings)
        picked = [w for w in kept if w["ts"] > after][:limit]
        return WarningList(
            member_id=member_id,
            warnings=[WarningEntry.model_validate(w) for w in picked],
        )

    @router.get(
        "/model",
        response_model=ModelInfo,
        summary="The model served: version, run and attestation summary",
    )
    def get_model(request: Request) -> ModelInfo:
        check_member(request)
        return ModelInfo(**scorer.artifact.summary())

    return router
