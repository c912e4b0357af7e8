"""The HTTP edge: ``create_app()`` wires settings, pool, migrations, appender and routes.

Routes stay thin: they hand the raw body bytes and headers to the intake use case (no typed body
parameter: the signature covers the exact bytes) and turn its answer into a response.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from litestar import Litestar, Request, Response, get
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.api import api_router
from app.appender import GroupCommitAppender
from app.bootstrap import prepare_database
from app.db import TRANSIENT_ERRORS, create_pool
from app.intake import Answer, Intake, error_answer
from app.metrics import Metrics
from app.settings import Settings
from app.webhook_route import respond, webhook_route
from domain.providers.base import Keys
from domain.providers.registry import PROVIDERS
from migrations.runner import pending

log = logging.getLogger("hookledger.web")


@dataclass(slots=True)
class Runtime:
    """What the lifespan builds and the routes use; one per process."""

    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    pool: asyncpg.Pool | None = None
    intake: Intake | None = None

    def require_intake(self) -> Intake:
        if self.intake is None:
            raise RuntimeError("the intake is not ready")
        return self.intake

    def require_pool(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError("the database pool is not ready")
        return self.pool


def prepare_keys(settings: Settings) -> dict[str, Keys]:
    return {
        p.name: p.load_keys(settings.provider_secrets[p.name].values)
        for p in PROVIDERS
        if p.name in settings.provider_secrets
    }


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
        exc.status_code, "bad_request" if exc.status_code < 500 else "server_error"
    )
    return respond(error_answer(exc.status_code, code, str(exc.detail)))


def _server_error(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error("unhandled error: %s", type(exc).__name__)
    return respond(error_answer(HTTP_500_INTERNAL_SERVER_ERROR, "server_error", "internal error"))


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env(os.environ)
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(settings)
        try:
            async with pool.acquire() as conn:
                await prepare_database(conn)
        except TRANSIENT_ERRORS as exc:
            # A web worker restarted (by uvicorn) during a database outage must still come up:
            # a failed start-up makes uvicorn stop the whole service. ``serve`` prepared the
            # database before starting any worker; until the database is back, appends answer
            # 503 and /ready says why.
            log.warning("database unreachable at start-up (%s); serving 503s", type(exc).__name__)
        appender = GroupCommitAppender(
            pool,
            batch_max=settings.append_batch_max,
            writers=settings.append_writers,
            timeout_seconds=settings.append_timeout_seconds,
        )
        await appender.start()
        runtime.pool = pool
        runtime.intake = Intake(
            keys=prepare_keys(settings),
            appender=appender,
            metrics=runtime.metrics,
            tolerance_seconds=settings.signature_tolerance_seconds,
            retry_after_seconds=settings.retry_after_seconds,
        )
        enabled = ", ".join(sorted(runtime.intake.keys)) or "none (set a *_WEBHOOK_SECRET)"
        log.info("hookledger ready; providers enabled: %s", enabled)
        if settings.api_token is None:
            log.warning("the read API (/api/*) is closed: set API_TOKEN to open it")
        # Start-up objects live as long as the process: keep them out of every GC pass (full
        # collections of them caused the worst latency spikes under load).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await appender.stop()
            await pool.close()

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready")
    async def ready() -> Response[bytes]:
        assert runtime.pool is not None
        try:
            async with runtime.pool.acquire() as conn:
                missing = await pending(conn)
        except TRANSIENT_ERRORS:
            return respond(error_answer(503, "database_unavailable", "database unreachable"))
        if missing:
            return respond(error_answer(503, "not_migrated", f"{len(missing)} migrations pending"))
        return respond(Answer(200, b'{"status":"ready"}'))

    @get("/metrics", media_type="text/plain")
    async def metrics() -> str:
        return runtime.metrics.render()

    return Litestar(
        route_handlers=[
            webhook_route(runtime.require_intake, settings.max_body_bytes),
            health,
            ready,
            metrics,
            api_router(settings.api_token, runtime.require_pool),
        ],
        lifespan=[lifespan],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        openapi_config=OpenAPIConfig(title="hookledger", version="0.1.0", path="/schema"),
        logging_config=None,
    )
