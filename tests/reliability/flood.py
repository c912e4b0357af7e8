"""Scenario: a flood of forged deliveries from one address next to genuine traffic.

Genuine Stripe deliveries are sent at a fixed concurrency three times — alone, next to a flood of
forged deliveries (wrong secret, from 127.0.0.2, at a given rate or as fast as the flood's
connections go), and alone again — and their latencies compared. The numbers are reported, not
asserted (timings on a shared machine are no test). What is checked: every genuine delivery is
stored and answered 200, every forged one 401 and never stored, and the service logged the flood
in a few lines, not one per request.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.event_log import log_contents
from tests.support.keepalive_client import KeepAliveClient, TransportFailure
from tests.support.provider_sim import Delivery, stripe_deliveries
from tests.support.service_process import ServiceProcess, free_port, service_env

FLOOD_ADDRESS = "127.0.0.2"


@dataclass(frozen=True, slots=True)
class Latencies:
    count: int
    p50_ms: float
    p99_ms: float
    non_200: int


@dataclass(frozen=True, slots=True)
class FloodResult:
    seed: int
    rate: float | None
    """The flood's target rate (forged deliveries per second), None: as fast as it goes."""
    alone: Latencies
    flooded: Latencies
    forged_sent: int
    forged_per_second: float
    forged_answers: dict[str, int]
    forged_stored: int
    genuine_missing: int
    flood_log_lines: int

    @property
    def p50_ratio(self) -> float:
        return self.flooded.p50_ms / max(self.alone.p50_ms, 1e-9)

    @property
    def p99_ratio(self) -> float:
        return self.flooded.p99_ms / max(self.alone.p99_ms, 1e-9)

    def violations(self) -> list[str]:
        found = []
        if self.alone.non_200 or self.flooded.non_200:
            found.append(f"genuine non-200 answers: {self.alone.non_200 + self.flooded.non_200}")
        if self.genuine_missing:
            found.append(f"{self.genuine_missing} genuine deliveries not stored")
        if set(self.forged_answers) - {"401"}:
            found.append(f"forged deliveries answered {self.forged_answers}")
        if self.forged_stored:
            found.append(f"{self.forged_stored} forged deliveries stored")
        if self.flood_log_lines > 64:
            found.append(f"{self.flood_log_lines} log lines for one flooding address")
        return [f"{v} (seed {self.seed})" for v in found]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def _genuine(base_url: str, batch: list[Delivery], concurrency: int) -> Latencies:
    seconds: list[float] = []
    bad = 0
    queue = list(reversed(batch))
    async with KeepAliveClient(base_url, connections=concurrency, timeout=30) as http:

        async def worker() -> None:
            nonlocal bad
            while queue:
                d = queue.pop()
                sent = time.perf_counter()
                try:
                    status = (await http.post(d.path, d.body, d.headers)).status
                except TransportFailure:
                    status = 0
                seconds.append(time.perf_counter() - sent)
                bad += status != 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Latencies(
        len(seconds), _percentile(seconds, 0.5) * 1e3, _percentile(seconds, 0.99) * 1e3, bad
    )


async def _flood(
    base_url: str,
    forged: Delivery,
    stop: asyncio.Event,
    answers: dict[str, int],
    rate: float | None,
) -> None:
    """Forged deliveries on 32 connections, at ``rate`` per second or as fast as they go."""
    loop = asyncio.get_running_loop()
    next_slot = loop.time()
    async with KeepAliveClient(base_url, connections=32, timeout=30, source=FLOOD_ADDRESS) as http:

        async def worker() -> None:
            nonlocal next_slot
            while not stop.is_set():
                if rate is not None:
                    slot, next_slot = next_slot, max(next_slot, loop.time()) + 1 / rate
                    await asyncio.sleep(max(0.0, slot - loop.time()))
                try:
                    key = str((await http.post(forged.path, forged.body, forged.headers)).status)
                except TransportFailure as exc:
                    key = exc.kind
                answers[key] = answers.get(key, 0) + 1

        await asyncio.gather(*(worker() for _ in range(32)))


async def forged_flood(
    database_url: str,
    workdir: Path,
    *,
    deliveries: int = 2000,
    concurrency: int = 16,
    workers: int = 2,
    rate: float | None = None,
    seed: int = 0,
) -> FloodResult:
    """``deliveries`` genuine ones per phase; ``database_url`` may be empty or migrated."""
    env = service_env(database_url, free_port(), workers=workers)
    service = ServiceProcess(env, workdir / f"service-flood-{rate or 'full'}.log")
    await service.start()
    batches = [stripe_deliveries(deliveries, prefix=f"fl{seed % 10**6}p{i}") for i in range(3)]
    forged = stripe_deliveries(1, prefix="forged", secret="whsec_flooding_attacker")[0]
    answers: dict[str, int] = {}
    try:
        await _genuine(service.base_url, stripe_deliveries(200, prefix="warm"), concurrency)
        first = await _genuine(service.base_url, batches[0], concurrency)
        stop = asyncio.Event()
        flood = asyncio.create_task(_flood(service.base_url, forged, stop, answers, rate))
        await asyncio.sleep(0.5)  # the flood is in full swing before genuine traffic starts
        flood_started = time.monotonic()
        flooded = await _genuine(service.base_url, batches[1], concurrency)
        flood_seconds = time.monotonic() - flood_started + 0.5
        stop.set()
        await flood
        last = await _genuine(service.base_url, batches[2], concurrency)
    finally:
        await service.stop()
    contents = await log_contents(database_url)
    genuine_keys = {d.key for batch in batches for d in batch}
    log_text = service.log_path.read_text("utf-8", "replace")
    alone = Latencies(
        first.count + last.count,
        (first.p50_ms + last.p50_ms) / 2,
        (first.p99_ms + last.p99_ms) / 2,
        first.non_200 + last.non_200,
    )
    sent = sum(answers.values())
    return FloodResult(
        seed=seed,
        rate=rate,
        alone=alone,
        flooded=flooded,
        forged_sent=sent,
        forged_per_second=sent / flood_seconds,
        forged_answers=answers,
        forged_stored=int(forged.key in contents.keys),
        genuine_missing=len(genuine_keys - contents.keys),
        flood_log_lines=len(re.findall(rf"remote={re.escape(FLOOD_ADDRESS)}\b", log_text)),
    )
