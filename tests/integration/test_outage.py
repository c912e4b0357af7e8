"""An unreachable database means 503 with Retry-After, never a 2xx; the service recovers by
itself when the database comes back, and nothing acknowledged goes missing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from app.settings import Settings
from tests.support import signing
from tests.support.server import running_server
from tests.support.tcp_proxy import CuttableProxy


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[CuttableProxy]:
    proxy = CuttableProxy(database_url)
    await proxy.start()
    yield proxy
    await proxy.cut()


def delivery(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": f"evt_out_{n}", "type": "invoice.paid"}).encode()
    return body, signing.stripe_headers(body)


async def test_outage_answers_503_then_recovers_without_restart(
    proxy: CuttableProxy, database_url: str
) -> None:
    settings = Settings.from_env(
        {
            **signing.ALL_SECRETS_ENV,
            "DATABASE_URL": proxy.url,
            "DB_CONNECT_TIMEOUT_SECONDS": "1",
            "APPEND_TIMEOUT_SECONDS": "2",
        }
    )
    acknowledged: list[str] = []
    async with (
        running_server(settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        for n in range(5):
            body, headers = delivery(n)
            response = await http.post("/webhooks/stripe", content=body, headers=headers)
            assert response.status_code == 200
            acknowledged.append(f"evt_out_{n}")

        await proxy.cut()
        for n in range(5, 15):
            body, headers = delivery(n)
            response = await http.post("/webhooks/stripe", content=body, headers=headers)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"].isdigit()
            assert response.json()["error"] == "database_unavailable"
        assert (await http.get("/ready")).status_code == 503
        assert (await http.get("/health")).status_code == 200

        await proxy.start()
        started = time.monotonic()
        recovered_after = None
        while time.monotonic() - started < 15:
            body, headers = delivery(99)
            response = await http.post("/webhooks/stripe", content=body, headers=headers)
            if response.status_code == 200:
                recovered_after = time.monotonic() - started
                acknowledged.append("evt_out_99")
                break
            assert response.status_code == 503
            await asyncio.sleep(0.2)
        assert recovered_after is not None, "service did not recover within 15 s"
        assert (await http.get("/ready")).status_code == 200

    conn = await asyncpg.connect(database_url)
    try:
        stored = {r[0] for r in await conn.fetch("SELECT event_id FROM hookledger_events")}
    finally:
        await conn.close()
    assert stored == set(acknowledged)


async def test_a_disabled_provider_answers_404(database_url: str) -> None:
    env = dict(signing.ALL_SECRETS_ENV, DATABASE_URL=database_url)
    del env["SLACK_SIGNING_SECRET"]
    body = b'{"type": "url_verification", "challenge": "abc"}'
    async with (
        running_server(Settings.from_env(env)) as base_url,
        httpx.AsyncClient(base_url=base_url) as http,
    ):
        response = await http.post(
            "/webhooks/slack", content=body, headers=signing.slack_headers(body)
        )
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_provider"
