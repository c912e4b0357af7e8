"""A real HTTP receiver on 127.0.0.1 (a raw ASGI app under uvicorn, in the test's event loop)
that verifies forwarded events with the ``standardwebhooks`` library and answers as scripted."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import standardwebhooks

from tests.support.server import serving


@dataclass(frozen=True)
class Received:
    webhook_id: str
    idempotency_key: str | None
    body: bytes
    verified: bool
    status: int


@dataclass
class Receiver:
    secret: str
    fail_first: int = 0
    """Answer 500 to the first ``fail_first`` requests of each webhook-id."""
    always_fail: bool = False
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)
    overlaps: int = 0
    """Requests that arrived while another one with the same webhook-id was in flight."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            standardwebhooks.Webhook(self.secret).verify(body, headers)
            verified = True
        except standardwebhooks.WebhookVerificationError:
            verified = False
        webhook_id = headers.get("webhook-id", "")
        self.seen[webhook_id] += 1
        if self.in_flight[webhook_id]:
            self.overlaps += 1
        self.in_flight[webhook_id] += 1
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight[webhook_id] -= 1
        failing = self.always_fail or self.seen[webhook_id] <= self.fail_first
        status = 401 if not verified else 500 if failing else 200
        self.received.append(
            Received(webhook_id, headers.get("idempotency-key"), body, verified, status)
        )
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


@asynccontextmanager
async def running_receiver(receiver: Receiver) -> AsyncIterator[str]:
    """Yields the URL to POST to."""
    async with serving(receiver, lifespan="off") as port:
        yield f"http://127.0.0.1:{port}/internal/hook"
