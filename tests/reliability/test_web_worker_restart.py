"""A web worker that uvicorn restarts while PostgreSQL is down must not take the service down:
the other worker keeps answering, the new one comes up, and all recover with the database.

(Regression: the restarted worker's lifespan used to need the database, its start-up failed,
and uvicorn's supervisor then stopped the whole service.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

import httpx

from tests.support import signing
from tests.support.pg_control import ControlledPostgres
from tests.support.service_process import ServiceProcess, free_port, service_env


async def _answers_for(http: httpx.AsyncClient, seconds: float) -> list[str]:
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            seen.append(str((await http.get("/ready")).status_code))
        except httpx.TransportError as exc:
            seen.append(type(exc).__name__)
            break
        await asyncio.sleep(0.25)
    return seen


async def test_a_worker_restarted_during_an_outage_keeps_the_service_up(tmp_path: Path) -> None:
    postgres = ControlledPostgres(tmp_path)
    await asyncio.to_thread(postgres.start)
    env = service_env(postgres.url, free_port(), workers=2)
    service = ServiceProcess(env, tmp_path / "service.log")
    try:
        await service.start()
        await asyncio.to_thread(postgres.crash)
        os.kill(service.worker_pids()[0], signal.SIGKILL)
        async with httpx.AsyncClient(base_url=service.base_url, timeout=5) as http:
            while_down = await _answers_for(http, 10.0)
            assert set(while_down) == {"503"}, (while_down, service.log_tail(5))
            await asyncio.to_thread(postgres.start)
            body = b'{"id": "evt_after_restart", "type": "invoice.paid"}'
            status = 0
            for _ in range(40):
                with contextlib.suppress(httpx.TransportError):
                    response = await http.post(
                        "/webhooks/stripe", content=body, headers=signing.stripe_headers(body)
                    )
                    status = response.status_code
                    if status == 200:
                        break
                await asyncio.sleep(0.25)
            assert status == 200
            assert len(service.worker_pids()) == 2
    finally:
        await service.stop()
        await asyncio.to_thread(postgres.cleanup)
