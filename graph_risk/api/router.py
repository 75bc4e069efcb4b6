"""The risk-team graph router: ``/v1/graph/...`` over a :class:`GraphIndex`.

Auth-agnostic: the app factory (``simulations.serve``) attaches authentication and the audit
log with ``include_router(router, dependencies=[...])``. Every 4xx carries
``{"error": {"code", "message", "field"}}`` (the factory renders the ``detail`` dicts raised
here); an unknown company is a 404, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import pathlib
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from graph_risk.algorithms.circles import Circle
from graph_risk.algorithms.contagion import what_if_default
from graph_risk.algorithms.control import ultimate_controllers
from graph_risk.algorithms.exposure import chain_exposure
from graph_risk.algorithms.ownership import WhollyHeldCycleError
from graph_risk.api.ego import edge_record, ego_network, node_record
from graph_risk.api.index import MAX_CIRCLE_LENGTH, GraphIndex
from graph_risk.api.models import (
    CircleModel,
    CirclePage,
    CompanyCircles,
    CompanyProfile,
    CompanySearch,
    CompanySummary,
    ContagionModel,
    Controllers,
    ErrorBody,
    ExposureModel,
    NeighbourhoodModel,
    RelatedPartiesModel,
)

STATIC_DIR = pathlib.Path(__file__).with_name("static")
"""The explorer page (index.html and its assets), served by the risk app."""
MAX_HOPS = 4
MAX_NODES = 1000
MAX_PAGE = 200
MAX_SEARCH = 50
MAX_EVIDENCE = 50

CompanyId = Annotated[str, Path(min_length=1, max_length=200, description="Company id.")]
Hops = Annotated[int, Query(ge=1, le=MAX_HOPS, description=f"Hops, 1..{MAX_HOPS}.")]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Bad input (e.g. an invalid cursor)."},
    404: {"model": ErrorBody, "description": "Unknown company."},
    422: {"model": ErrorBody, "description": "A parameter breaks its rule."},
}


def api_error(status: int, code: str, message: str, field: str | None = None) -> HTTPException:
    """An ``HTTPException`` whose detail is the machine-readable error body."""
    return HTTPException(status, detail={"code": code, "message": message, "field": field})


def _path(steps: list[tuple[str, str, float]]) -> list[dict[str, Any]]:
    return [{"source": a, "target": b, "value": float(v)} for a, b, v in steps]


def _circle(circle: Circle) -> CircleModel:
    return CircleModel(
        members=list(circle.members), amounts=list(circle.amounts), length=circle.length
    )


def _encode_cursor(offset: int, min_length: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "m": min_length, "f": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, min_length: int, fingerprint: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
        offset, length, print_ = int(body["o"]), int(body["m"]), str(body["f"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise api_error(
            400, "invalid_cursor", "cursor is not one this API returned", "cursor"
        ) from exc
    if print_ != fingerprint:
        raise api_error(
            400,
            "stale_cursor",
            "cursor belongs to another graph snapshot; start again without a cursor",
            "cursor",
        )
    if length != min_length or offset < 0:
        raise api_error(400, "invalid_cursor", "cursor was issued for another min_length", "cursor")
    return offset


def create_graph_router(index: GraphIndex) -> APIRouter:
    """The ``/v1/graph`` router answering from ``index``."""
    router = APIRouter(prefix="/v1/graph", tags=["graph (risk team)"], responses=ERRORS)

    def position(company_id: str) -> int:
        try:
            return index.position(company_id)
        except KeyError:
            raise api_error(
                404, "unknown_company", f"no company {company_id!r} in the graph", "company_id"
            ) from None

    @router.get(
        "/companies", response_model=CompanySearch, summary="Search companies by id or name prefix"
    )
    def search(
        query: Annotated[
            str,
            Query(
                min_length=1, max_length=100, description="Prefix of the id or (any case) the name."
            ),
        ],
        limit: Annotated[int, Query(ge=1, le=MAX_SEARCH)] = 10,
    ) -> CompanySearch:
        hits = index.search(query, limit)
        results = []
        for pos in hits:
            row = index.company(str(index.ids[pos]))
            results.append(
                CompanySummary(
                    company_id=row["company_id"],
                    name=str(row["name"]),
                    industry=row["industry"],
                    region=row["region"],
                    defaulted=row["defaulted"],
                    in_guarantee_circle=bool(index.in_circle[pos]),
                )
            )
        return CompanySearch(query=query, results=results)

    @router.get(
        "/companies/{company_id}",
        response_model=CompanyProfile,
        summary="Company profile with graph features",
    )
    def profile(company_id: CompanyId) -> CompanyProfile:
        position(company_id)
        row = index.company(company_id)
        return CompanyProfile(**row, features=index.feature_row(company_id))

    @router.get(
        "/companies/{company_id}/controllers",
        response_model=Controllers,
        summary="Ultimate controller (integrated share, paths) or beneficial owners",
    )
    def controllers(company_id: CompanyId) -> Controllers:
        position(company_id)
        try:
            found = ultimate_controllers(index.control.graph, company_id, max_paths=MAX_EVIDENCE)
        except WhollyHeldCycleError as exc:
            raise api_error(409, "wholly_held_cycle", str(exc), "company_id") from exc
        return Controllers(
            company_id=company_id,
            controller=found.controller,
            controller_type=found.controller_type,
            integrated_share=found.integrated_share,
            control_cycle=list(found.control_cycle),
            paths=[_path(p) for p in found.paths],  # type: ignore[misc]
            beneficial_owners=[
                {
                    "holder": o.holder,
                    "holder_type": o.holder_type,  # type: ignore[misc]
                    "integrated_share": o.integrated_share,
                    "paths": [_path(p) for p in o.paths],
                }
                for o in found.beneficial_owners
            ],
        )

    @router.get(
        "/companies/{company_id}/related-parties",
        response_model=RelatedPartiesModel,
        summary="Related-party group (shared controller or identifiers)",
    )
    def related(company_id: CompanyId) -> RelatedPartiesModel:
        position(company_id)
        found = index.related_parties(company_id)
        return RelatedPartiesModel(
            company_id=company_id,
            members=list(found.members),
            links=[
                {"company_id": c, "kind": k, "value": v}  # type: ignore[misc]
                for c, k, v in found.links
            ],
        )

    @router.get(
        "/companies/{company_id}/guarantee-circles",
        response_model=CompanyCircles,
        summary="Guarantee circles (length 2..6) through the company",
    )
    def company_circles(company_id: CompanyId) -> CompanyCircles:
        position(company_id)
        return CompanyCircles(
            company_id=company_id, circles=[_circle(c) for c in index.circles_through(company_id)]
        )

    @router.get(
        "/companies/{company_id}/exposure",
        response_model=ExposureModel,
        summary="Guarantors exposed to the company's default within k hops",
    )
    def exposure(company_id: CompanyId, hops: Hops = 3) -> ExposureModel:
        position(company_id)
        found = chain_exposure(index.upstream(company_id, hops), company_id, hops=hops)
        companies = sorted(found.hop_of.items(), key=lambda kv: (kv[1], kv[0]))
        return ExposureModel(
            company_id=company_id,
            hops=hops,
            depth=found.depth,
            exposed=found.exposed,
            amount=found.amount,
            companies=[
                {"company_id": c, "hop": h}  # type: ignore[misc]
                for c, h in companies
            ],
            paths=[_path(p) for p in found.paths[:MAX_EVIDENCE]],  # type: ignore[misc]
        )

    @router.get(
        "/companies/{company_id}/contagion",
        response_model=ContagionModel,
        summary="DebtRank contagion score and what-if system loss",
    )
    def contagion(company_id: CompanyId) -> ContagionModel:
        pos = position(company_id)
        found = what_if_default(
            index.upstream(company_id, None), company_id, max_paths=MAX_EVIDENCE
        )
        relative = found.system_loss / index.total_equity if index.total_equity > 0 else 0.0
        return ContagionModel(
            company_id=company_id,
            contagion_score=float(index.contagion[pos]),
            system_loss=found.system_loss,
            relative_loss=relative,
            affected_count=len(found.affected),
            affected=[
                {"company_id": c, "loss": h}  # type: ignore[misc]
                for c, h in list(found.affected.items())[:MAX_EVIDENCE]
            ],
            paths=[_path(p) for p in found.paths],  # type: ignore[misc]
        )

    @router.get(
        "/companies/{company_id}/neighbourhood",
        response_model=NeighbourhoodModel,
        summary="Ego network (nodes + edges) for drawing",
    )
    def neighbourhood(
        company_id: CompanyId,
        hops: Hops = 2,
        limit: Annotated[int, Query(ge=1, le=MAX_NODES, description="Most nodes.")] = 200,
    ) -> NeighbourhoodModel:
        position(company_id)
        ego = ego_network(index, company_id, hops, limit)
        return NeighbourhoodModel(
            company_id=company_id,
            hops=hops,
            limit=limit,
            truncated=ego.truncated,
            nodes=[
                node_record(index, int(p), int(h))  # type: ignore[misc]
                for p, h in zip(ego.nodes, ego.hops, strict=True)
            ],
            edges=[edge_record(index, int(k)) for k in ego.edges],  # type: ignore[misc]
        )

    @router.get(
        "/guarantee-circles",
        response_model=CirclePage,
        summary="Every guarantee circle, paginated (shortest first)",
    )
    def all_circles(
        min_length: Annotated[int, Query(ge=2, le=MAX_CIRCLE_LENGTH)] = 2,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        cursor: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=400,
                pattern="^[A-Za-z0-9_-]+$",
                description="next_cursor of the previous page.",
            ),
        ] = None,
    ) -> CirclePage:
        circles = index.circles()
        first = bisect.bisect_left([c.length for c in circles], min_length)
        offset = 0 if cursor is None else _decode_cursor(cursor, min_length, index.fingerprint)
        start = first + offset
        page = circles[start : start + limit]
        end = offset + len(page)
        more = start + len(page) < len(circles)
        return CirclePage(
            total=len(circles) - first,
            circles=[_circle(c) for c in page],
            next_cursor=_encode_cursor(end, min_length, index.fingerprint) if more else None,
        )

    return router
