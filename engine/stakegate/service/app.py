"""The HTTP decision service: ``create_app(config)`` builds the FastAPI application.

Routes stay thin: they validate the request (pydantic, 422 naming the field), call
``DecisionService``, and write pre-serialized JSON. Every ``EngineError`` is answered by one
handler with its class's ``http_status`` (``stakegate.errors``), so that no failure can surface as
a decision: OPA down or late is 503, an invalid policy answer 502, bad input 422.
"""

from __future__ import annotations

import asyncio
import hmac
import signal
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from stakegate.errors import (
    AuditError,
    ChangesGoneError,
    EngineError,
    OpaUnavailableError,
    RegistryError,
    TooLargeError,
)
from stakegate.logs import get_logger
from stakegate.service.config import ServiceConfig
from stakegate.service.core import DecisionService
from stakegate.service.limits import BodyLimitMiddleware
from stakegate.service.metrics import CONTENT_TYPE, Metrics, MetricsMiddleware
from stakegate.service.models import (
    BatchResponse,
    ChangesGoneResponse,
    ChangesResponse,
    DecisionRequest,
    DecisionResponse,
    ErrorResponse,
)
from stakegate.service.strict_body import StrictJsonRoute

__all__ = ["create_app"]

log = get_logger(__name__)

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 404, 413, 422, 502, 503)
}


def _json(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def error_response(status: int, kind: str, message: str, field: str | None = None) -> Response:
    detail: dict[str, Any] = {"type": kind, "message": message}
    if field is not None:
        detail["field"] = field
    return _json({"error": detail}, status)


async def _engine_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EngineError)
    status = exc.http_status
    field = getattr(exc, "field", None)
    if isinstance(exc, RegistryError):
        # "ownership[0] (p -> newco)" + "owner" -> "facts.ownership[0].owner"
        parts = ["facts", (exc.record or "").split(" ")[0], exc.field or ""]
        field = ".".join(p for p in parts if p)
    if status >= 500:
        log.error(
            "Request failed",
            path=request.url.path,
            status=status,
            error=type(exc).__name__,
            message=str(exc),
            traceback=traceback.format_exception(exc)
            if not isinstance(exc, OpaUnavailableError | AuditError)  # expected states
            else None,
        )
    return error_response(status, type(exc).__name__, str(exc), field)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors())
    first = errors[0] if errors else {"loc": ["body"], "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", []) if p != "body"]
    field = ".".join(loc) or "body"
    response = {
        "error": {"type": "RequestValidationError", "message": first["msg"], "field": field},
        "detail": errors,
    }
    return _json(response, 422)


def _auth_dependency(config: ServiceConfig) -> Callable[[Request], Awaitable[None]]:
    keys = [key.encode() for key in sorted(config.api_keys)]

    async def require_key(request: Request) -> None:
        if not keys:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        given = token.strip() if scheme.lower() == "bearer" else request.headers.get("x-api-key")
        if given and any(hmac.compare_digest(given.encode(), key) for key in keys):
            return
        raise _Unauthorized()

    return require_key


class _Unauthorized(Exception):
    pass


async def _unauthorized(_request: Request, _exc: Exception) -> Response:
    response = error_response(401, "Unauthorized", "a valid API key is required")
    response.headers["www-authenticate"] = 'Bearer realm="stakegate"'
    return response


def _install_sighup(service: DecisionService) -> bool:
    """SIGHUP reloads, where the loop may own signals (not under a test client's thread)."""

    def on_hup() -> None:
        asyncio.ensure_future(_reload_logged(service, "SIGHUP"))

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, on_hup)
    except (RuntimeError, ValueError, NotImplementedError):
        return False
    return True


async def _reload_logged(service: DecisionService, reason: str) -> None:
    try:
        await service.reload(reason)
    except Exception:  # reload() logged it; the old snapshot keeps serving
        pass


def create_app(config: ServiceConfig, service: DecisionService | None = None) -> FastAPI:
    """The decision service for ``config``; starts (and stops) OPA and the audit log."""
    metrics = Metrics()
    engine = service or DecisionService(config, metrics)
    engine.metrics = metrics
    _register_live_metrics(metrics, engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await engine.start()
        hup = _install_sighup(engine)
        log.info(
            "Service ready",
            host=config.host,
            port=config.port,
            sighup_reload=hup,
            auth=config.auth_required,
            audit_log=str(config.audit_log),
        )
        try:
            yield
        finally:
            if hup:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            await engine.stop()

    app = FastAPI(
        title="stakegate",
        summary="May entity X use us? Decisions under the restricted-ownership rule.",
        version="1",
        lifespan=lifespan,
    )
    app.state.service = engine
    app.router.route_class = StrictJsonRoute  # duplicate keys, NaN: 422 naming the key path
    app.add_exception_handler(EngineError, _engine_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(_Unauthorized, _unauthorized)
    authorized = [Depends(_auth_dependency(config))]

    @app.post(
        "/v1/decisions",
        response_model=DecisionResponse | BatchResponse,
        responses=_ERRORS,
        dependencies=authorized,
        summary="Decide one entity, a batch, or caller-supplied facts",
    )
    async def decisions(request: DecisionRequest) -> Response:
        if request.entities is not None:
            if len(request.entities) > config.max_batch:
                raise TooLargeError(
                    f"'entities' has {len(request.entities)} items; at most {config.max_batch}",
                    field="entities",
                )
            decided = await engine.decide_entities(request.entities, batch=True)
            return _json({"decisions": decided})
        if request.facts is not None:
            return _json(await engine.decide_facts(request.facts, request.entity))
        assert request.entity is not None
        return _json((await engine.decide_entities([request.entity], batch=False))[0])

    @app.get("/health", summary="200 only when OPA and its bundle are loaded")
    async def health() -> Response:
        snapshot = engine.snapshot
        reason = "no registry and policy loaded" if snapshot is None else None
        if snapshot is not None:
            reason = await snapshot.opa.unready_reason()
        if reason is None and engine.audit is not None and engine.audit.failed:
            reason = f"the audit log is not writable: {engine.audit.failure}"
        if reason is not None or snapshot is None:
            return _json({"status": "unavailable", "reason": reason}, 503)
        body: dict[str, Any] = {
            "status": "ok",
            "policy_revision": snapshot.revision,
            "registry": snapshot.registry.source,
            "entities": len(snapshot.facts),
            "generation": snapshot.generation,
            "as_of": snapshot.pipeline.as_of.isoformat(),
        }
        if engine.notifier is not None:  # failing notifications do not make the service unready
            body["notify"] = engine.notifier.health()
        return _json(body)

    @app.get(
        "/v1/changes",
        response_model=ChangesResponse,
        responses={**_ERRORS, 410: {"model": ChangesGoneResponse}},
        dependencies=authorized,
        summary="Decisions that flipped on reloads, from seq `since` on",
    )
    async def changes(
        since: Annotated[
            int | None, Query(ge=0, description="First seq wanted (default: the oldest kept).")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=10_000, description="Changes per page.")] = 1000,
    ) -> Response:
        try:
            page, next_seq = engine.feed.page(since, limit)
        except ChangesGoneError as err:
            gone = {"type": type(err).__name__, "message": str(err), "field": "since"}
            return _json({"error": gone, "oldest": err.oldest, "next": err.next}, 410)
        body = b"".join((b'{"changes":[', b",".join(page), b'],"next":%d}' % next_seq))
        return Response(body, media_type="application/json")

    @app.get("/metrics", summary="Prometheus text exposition")
    async def metrics_text() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.post(
        "/v1/admin/reload",
        responses=_ERRORS,
        dependencies=authorized,
        summary="Reload the registry and policy",
    )
    async def reload() -> Response:
        try:
            snapshot = await engine.reload("admin request")
        except EngineError as err:
            return error_response(
                503, type(err).__name__, f"reload failed, still serving the previous: {err}"
            )
        return _json(
            {
                "generation": snapshot.generation,
                "policy_revision": snapshot.revision,
                "entities": len(snapshot.facts),
            }
        )

    # Outermost first: metrics time everything, including refused oversized bodies.
    app.add_middleware(BodyLimitMiddleware, max_body=config.max_body)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def _register_live_metrics(metrics: Metrics, engine: DecisionService) -> None:
    def audit_value(name: str) -> Callable[[], float]:
        return lambda: float(getattr(engine.audit, name, 0) or 0)

    metrics.live["stakegate_audit_fsyncs_total"] = (
        "counter",
        "Audit log fsyncs (group commits).",
        audit_value("fsyncs"),
    )
    metrics.live["stakegate_audit_lines_total"] = (
        "counter",
        "Audit lines made durable.",
        audit_value("lines_written"),
    )
    metrics.live["stakegate_audit_fsync_seconds_total"] = (
        "counter",
        "Time spent writing and fsyncing audit batches.",
        audit_value("fsync_seconds"),
    )
    metrics.live["stakegate_registry_entities"] = (
        "gauge",
        "Entities of the loaded registry.",
        lambda: float(len(engine.snapshot.facts)) if engine.snapshot else 0.0,
    )
    metrics.live["stakegate_changes_feed_entries"] = (
        "gauge",
        "Changes kept in the changes feed.",
        lambda: float(len(engine.feed)),
    )
    metrics.live["stakegate_notifications_pending"] = (
        "gauge",
        "Flip notification documents not yet delivered or given up.",
        lambda: float(engine.notifier.pending) if engine.notifier else 0.0,
    )
    metrics.live["stakegate_ready"] = (
        "gauge",
        "1 when a registry and policy are loaded.",
        lambda: 1.0 if engine.snapshot else 0.0,
    )
    metrics.info = lambda: (
        {"revision": engine.snapshot.revision} if engine.snapshot is not None else {}
    )
