"""Ceiling (a): our HTTP stack verifying and decoding deliveries, but never touching a database.

Built from the project's public pieces (``Intake``, ``prepare_keys``, the provider registry) with
an appender that accepts everything at once, and served exactly as ``hookledger serve`` serves
the real app: uvicorn, ``WEB_WORKERS`` worker processes, no access log, lifespan on.

``python -m bench.nodb_app`` starts it (settings from the environment, as the real CLI);
uvicorn's worker processes import ``bench.nodb_app:create_app``.
"""

from __future__ import annotations

import os

import uvicorn
from litestar import Litestar, Response, get

from app.appender import AppendOutcome, NewEvent
from app.intake import Answer, Intake
from app.metrics import Metrics
from app.settings import Settings
from app.web import prepare_keys
from app.webhook_route import respond, webhook_route

_ACCEPTED = AppendOutcome("accepted", None)


class NoopAppender:
    """Accepts every event immediately and stores nothing."""

    async def append(self, event: NewEvent) -> AppendOutcome:
        return _ACCEPTED


def create_app() -> Litestar:
    settings = Settings.from_env(os.environ)
    intake = Intake(
        keys=prepare_keys(settings),
        appender=NoopAppender(),
        metrics=Metrics(),
        tolerance_seconds=settings.signature_tolerance_seconds,
        retry_after_seconds=settings.retry_after_seconds,
    )

    @get("/ready")
    async def ready() -> Response[bytes]:
        return respond(Answer(200, b'{"status":"ready"}'))

    route = webhook_route(lambda: intake, settings.max_body_bytes)
    return Litestar(route_handlers=[route, ready], logging_config=None)


def main() -> None:
    settings = Settings.from_env(os.environ)
    uvicorn.run(
        "bench.nodb_app:create_app",
        factory=True,
        workers=settings.web_workers,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
