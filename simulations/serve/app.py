"""The one app factory: ``create_app(role, settings)`` -> a FastAPI app for one user group.

========== ============================== ====================================================
role       admits keys of role            serves
========== ============================== ====================================================
member     ``member`` of ``member_id``    ``/v1/scores``, ``/v1/warnings``, ``/v1/model``
risk       ``risk_analyst``               ``/v1/graph/...`` and the explorer page at ``/``
association ``association_admin``         ``/v1/runs...``, ``/v1/members``
========== ============================== ====================================================

Routers are auth-agnostic; this factory attaches authentication with
``include_router(router, dependencies=[require_role(...)])`` and wraps the app in the audit
middleware (every ``/v1`` request, allowed or denied, is logged). Every 4xx is
``{"error": {"code", "message", "field"}}``; ``GET /healthz`` needs no key and says ``ready``
once the risk role's graph index has built its circles and related-party partition (started in
the background at startup; requests before that wait only for the part they need).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulations.serve.audit import AuditEntry, AuditLog
from simulations.serve.auth import KeyStore, require_role
from simulations.serve.settings import SERVE_ROLES, ServeSettings

VERSION = "1"


class AuditMiddleware:
    """Pure ASGI middleware: one :class:`AuditEntry` per request under ``prefix``.

    Who comes from ``scope["state"]["principal"]`` (set by the auth dependency), what from
    the method, path, query and ``scope["state"]["audit_subjects"]`` (set by routers that
    name the companies involved), when from the clock at the start of the request.
    """

    def __init__(self, app: ASGIApp, log: AuditLog, prefix: str = "/v1") -> None:
        self.app = app
        self.log = log
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        started = time.time()
        state = scope.setdefault("state", {})
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            principal = state.get("principal")
            client = scope.get("client")
            self.log.record(
                AuditEntry(
                    ts=started,
                    key_name=getattr(principal, "name", None),
                    role=getattr(principal, "role", None),
                    member_id=getattr(principal, "member_id", None),
                    method=str(scope["method"]),
                    path=str(scope["path"]),
                    query=bytes(scope.get("query_string", b"")).decode("latin-1"),
                    subjects=str(state.get("audit_subjects", "")),
                    status=status,
                    client=f"{client[0]}:{client[1]}" if client else "",
                )
            )


def _error_response(
    status: int, code: str, message: str, field: str | None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "field": field}},
        status_code=status,
        headers=headers,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if isinstance(detail, dict) and "code" in detail:
        return _error_response(
            exc.status_code,
            str(detail["code"]),
            str(detail["message"]),
            detail.get("field"),
            dict(exc.headers) if exc.headers else None,
        )
    return _error_response(
        exc.status_code,
        f"http_{exc.status_code}",
        str(detail),
        None,
        dict(exc.headers) if exc.headers else None,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ())]
    field = ".".join(loc[1:]) if len(loc) > 1 else (loc[0] if loc else None)
    where = f"{loc[0]} {field}" if loc and field else "request"
    message = f"{where}: {first.get('msg', 'invalid')}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return _error_response(422, "invalid_parameter", message, field)


def _graph_index(settings: ServeSettings, graph_index: Any | None) -> Any:
    from graph_risk.api import GraphIndex

    if graph_index is not None:
        return graph_index
    backend = settings.store_options().open()
    try:
        return GraphIndex.load(backend, settings.features)
    finally:
        backend.close()


def _mount_explorer(app: FastAPI) -> None:
    from graph_risk.api import STATIC_DIR

    if not (STATIC_DIR / "index.html").is_file():
        return
    app.mount("/explorer", StaticFiles(directory=STATIC_DIR, html=True), name="explorer")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/explorer/")

    @app.get("/explorer", include_in_schema=False)
    async def explorer() -> RedirectResponse:
        return RedirectResponse("/explorer/")


def create_app(
    role: str,
    settings: ServeSettings | None = None,
    *,
    graph_index: Any | None = None,
    scorer: Any | None = None,
    run_store: Any | None = None,
    keys: KeyStore | None = None,
    audit: AuditLog | None = None,
) -> FastAPI:
    """The API of one ``role`` (``member``, ``risk`` or ``association``).

    Parameters
    ----------
    role : str
        Which router and which key role (see module docstring).
    settings : ServeSettings, optional
        Paths and limits; default ``ServeSettings(role=role)``.
    graph_index, scorer, run_store, keys, audit : optional
        Ready objects instead of opening them from ``settings`` (tests, benchmarks): a
        :class:`graph_risk.api.GraphIndex`, a ``participant_node.scoring.Scorer``, a
        ``coordinator.state.RunStore``, a :class:`KeyStore`, an :class:`AuditLog`.
    """
    if role not in SERVE_ROLES:
        raise ValueError(f"role must be one of {', '.join(SERVE_ROLES)}; got {role!r}")
    settings = ServeSettings(role=role) if settings is None else settings
    if settings.role != role:
        raise ValueError(f"settings are for role {settings.role!r}, not {role!r}")
    key_store = (
        keys
        if keys is not None
        else KeyStore(settings.keys_path, cache_seconds=settings.auth_cache_seconds)
    )
    audit_log = (
        audit
        if audit is not None
        else AuditLog(settings.audit_path, flush_seconds=settings.audit_flush_seconds)
    )
    closers: list[Callable[[], None]] = [audit_log.close, key_store.close]
    index: Any | None = None  # the risk role's GraphIndex

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        audit_log.start()
        if index is not None:  # circles, related-party partition: built off the request path
            index.prepare_in_background()
        try:
            yield
        finally:
            for close in closers:
                close()

    app = FastAPI(
        title=f"fedcredit {role} API",
        version=VERSION,
        lifespan=lifespan,
        description="Federated credit scoring consortium: send `Authorization: Bearer <key>` "
        f"with a key of role `{settings.key_role}` (`fedcredit auth add-key`).",
    )
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    guard = [Depends(require_role(key_store, settings.key_role, member_id=settings.member_id))]
    if role == "risk":
        from graph_risk.api import create_graph_router

        index = _graph_index(settings, graph_index)
        app.include_router(create_graph_router(index), dependencies=guard)
        _mount_explorer(app)
    elif role == "member":
        app.include_router(_member_router(settings, scorer), dependencies=guard)
    else:
        router, close = _association_router(settings, run_store)
        app.include_router(router, dependencies=guard)
        if close is not None:
            closers.append(close)

    @app.get("/healthz", tags=["health"], summary="Liveness (no key needed)")
    async def healthz() -> dict[str, str | bool]:
        return {"status": "ok", "role": role, "ready": index is None or bool(index.ready)}

    app.state.audit = audit_log
    app.state.keys = key_store
    app.add_middleware(AuditMiddleware, log=audit_log)
    return app


def _member_router(settings: ServeSettings, scorer: Any | None) -> Any:
    from participant_node.api import create_scoring_router

    if scorer is None:
        if settings.model is None:
            raise ValueError("role member needs a model artifact (--model)")
        from participant_node.scoring import Scorer, load_policy

        policy = load_policy(settings.policy) if settings.policy is not None else None
        scorer = Scorer.load(settings.model, policy=policy, graph_features=settings.graph_features)
    assert settings.member_id is not None  # ServeSettings requires it for role member
    return create_scoring_router(scorer, member_id=settings.member_id, max_batch=settings.max_batch)


def _association_router(
    settings: ServeSettings, run_store: Any | None
) -> tuple[Any, Callable[[], None] | None]:
    from coordinator.api import create_association_router
    from coordinator.state import RunStore

    close: Callable[[], None] | None = None
    if run_store is None:
        if settings.run_store is None:
            raise ValueError("role association needs the coordinator's run store (--run-store)")
        path = Path(settings.run_store)
        if not path.is_file():
            raise ValueError(f"run store {path} does not exist (--run-store)")
        run_store = RunStore(path)
        close = run_store.close
    return create_association_router(run_store), close
