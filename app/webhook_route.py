"""The ``POST /webhooks/{provider}`` route, shared by the service and the no-database benchmark.

The handler reads the raw body bytes and headers (no typed body parameter: the signature covers
the exact bytes) and hands them to the intake use case.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from app.intake import Answer, Intake, error_answer


def respond(answer: Answer) -> Response[bytes]:
    return Response(
        answer.body,
        status_code=answer.status_code,
        media_type=answer.content_type,
        headers=dict(answer.headers),
    )


def webhook_route(intake: Callable[[], Intake], max_body_bytes: int) -> HTTPRouteHandler:
    """``intake`` returns the process's intake (built in the lifespan, after routing)."""

    @post("/webhooks/{provider:str}", request_max_body_size=max_body_bytes)
    async def receive_webhook(
        request: Request[Any, Any, Any], provider: FromPath[str]
    ) -> Response[bytes]:
        current = intake()
        adapter = current.provider_for(provider)
        if adapter is None:
            return respond(error_answer(404, "unknown_provider", "no enabled provider here"))
        body = await request.body()
        remote = request.client.host if request.client else "-"
        return respond(await current.receive(adapter, body, request.headers, time.time(), remote))

    return receive_webhook
