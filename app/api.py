"""The read API under ``/api``: read models for analysts, projection and outbox status for
operators.

Closed unless ``API_TOKEN`` is set; every request needs ``Authorization: Bearer <API_TOKEN>``,
compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

import asyncpg
from litestar import Router, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery, QueryParameter

from app import queries
from app.settings import Secret
from projections.status import (
    OutboxSummary,
    ProjectionStatus,
    outbox_summary,
    projection_status,
)

Limit = Annotated[int, QueryParameter(ge=1, le=500)]


def token_guard(
    token: Secret | None,
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    expected = token.values[0].encode() if token else None

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if expected is None:
            raise NotAuthorizedException("the API is closed: set API_TOKEN to open it")
        header = connection.headers.get("authorization", "")
        scheme, _sep, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode("utf-8", "replace"), expected
        ):
            raise NotAuthorizedException("missing or wrong bearer token")

    return guard


def api_router(token: Secret | None, pool: Callable[[], asyncpg.Pool]) -> Router:
    """``pool`` returns the process's pool (built in the lifespan, after routing is set up)."""

    @get("/users/{email:str}")
    async def get_user(email: FromPath[str]) -> queries.UserOut:
        async with pool().acquire() as conn:
            found = await queries.user(conn, email)
        if found is None:
            raise NotFoundException("no such user")
        return found

    @get("/subscriptions")
    async def list_subscriptions(
        status: FromQuery[str | None] = None,
        provider: FromQuery[str | None] = None,
        product: FromQuery[str | None] = None,
        limit: Limit = 100,
        cursor: FromQuery[str | None] = None,
    ) -> queries.Page:
        try:
            async with pool().acquire() as conn:
                return await queries.subscriptions_page(
                    conn,
                    status=status,
                    provider=provider,
                    product=product,
                    limit=limit,
                    cursor=cursor,
                )
        except ValueError as exc:
            raise ValidationException(str(exc)) from None

    @get("/access")
    async def list_access(
        email: FromQuery[str | None] = None,
        product: FromQuery[str | None] = None,
        active: FromQuery[bool | None] = None,
        limit: Limit = 100,
        cursor: FromQuery[str | None] = None,
    ) -> queries.Page:
        try:
            async with pool().acquire() as conn:
                return await queries.access_page(
                    conn, email=email, product=product, active=active, limit=limit, cursor=cursor
                )
        except ValueError as exc:
            raise ValidationException(str(exc)) from None

    @get("/projections")
    async def projections() -> list[ProjectionStatus]:
        async with pool().acquire() as conn:
            return await projection_status(conn)

    @get("/jobs/summary")
    async def jobs_summary() -> OutboxSummary:
        async with pool().acquire() as conn:
            return await outbox_summary(conn)

    return Router(
        path="/api",
        route_handlers=[get_user, list_subscriptions, list_access, projections, jobs_summary],
        guards=[token_guard(token)],
    )
