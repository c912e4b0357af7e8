"""Scenario: crash PostgreSQL (``pg_ctl stop -m immediate``) under load, keep it down, start it
again; the service keeps running throughout.

Guarantees checked: while the database is down every genuine delivery is answered 503 with
Retry-After (never a 2xx, never silence) and /ready says 503 while /health stays 200; after the
database is back the service acknowledges again within ``max_recovery`` seconds without a
restart; nothing acknowledged is missing and every delivery ends in the log exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.reliability.log_outcome import LogOutcome
from tests.support.event_log import LogContents, log_contents
from tests.support.pg_control import ControlledPostgres
from tests.support.provider_sim import ProviderSimulator, SimReport, stripe_deliveries
from tests.support.service_process import ServiceProcess, free_port, service_env


@dataclass(frozen=True, slots=True)
class OutageResult(LogOutcome):
    down_seconds: float
    answers_while_down: dict[str, int]
    """Status counts of genuine deliveries sent and answered while PostgreSQL was down."""
    without_retry_after: int
    probes_while_down: dict[str, int]
    """``/ready`` and ``/health`` answers while down, as ``"/ready 503": n``."""
    recovery_seconds: float | None
    """From PostgreSQL accepting connections again to the first 2xx for a delivery sent after."""
    max_recovery: float
    seconds: float
    answers: dict[str, int] = field(default_factory=dict)

    def violations(self) -> list[str]:
        found = []
        down = dict(self.answers_while_down)
        if down.pop("503", 0) == 0:
            found.append("no delivery was answered while the database was down")
        if down:
            found.append(f"while down, answers other than 503: {down}")
        if self.without_retry_after:
            found.append(f"{self.without_retry_after} answers 503 without Retry-After")
        bad_probes = {k: v for k, v in self.probes_while_down.items() if k not in _GOOD_PROBES}
        if bad_probes:
            found.append(f"while down, probes answered {bad_probes}")
        if self.recovery_seconds is None or self.recovery_seconds > self.max_recovery:
            found.append(f"no recovery within {self.max_recovery}s ({self.recovery_seconds})")
        found += self.log_violations()
        return [f"{v} (seed {self.seed})" for v in found]


_GOOD_PROBES = {"/ready 503", "/health 200"}


Probe = tuple[float, float, str]
"""(sent at, answered at, "<path> <status>")"""


async def _probe(base_url: str, log: list[Probe], stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        while not stop.is_set():
            for path in ("/ready", "/health"):
                sent = time.monotonic()
                try:
                    status = str((await http.get(path)).status_code)
                except httpx.TransportError as exc:
                    status = type(exc).__name__
                log.append((sent, time.monotonic(), f"{path} {status}"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)


async def database_outage(
    workdir: Path,
    *,
    deliveries: int = 3000,
    down_seconds: float = 3.0,
    concurrency: int = 32,
    forged_share: float = 0.02,
    workers: int = 2,
    seed: int = 0,
    start_at: float = 0.25,
    max_recovery: float = 10.0,
) -> OutageResult:
    """Starts its own PostgreSQL under ``workdir``; crashes it once ``start_at`` of the genuine
    deliveries are acknowledged."""
    postgres = ControlledPostgres(workdir / "pg")
    await asyncio.to_thread(postgres.start)
    service: ServiceProcess | None = None
    tasks: list[asyncio.Task[Any]] = []
    try:
        env = service_env(
            postgres.url,
            free_port(),
            workers=workers,
            DB_CONNECT_TIMEOUT_SECONDS="1",
            APPEND_TIMEOUT_SECONDS="2",
            RETRY_AFTER_SECONDS="1",
        )
        service = ServiceProcess(env, workdir / "service-outage.log")
        await service.start()
        batch = stripe_deliveries(deliveries, forged_share=forged_share, seed=seed)
        genuine = sum(1 for d in batch if not d.forged)
        sim = ProviderSimulator(service.base_url, batch, concurrency=concurrency, seed=seed)
        sim_task = asyncio.create_task(sim.run())
        tasks.append(sim_task)
        await sim.wait_acknowledged(start_at * genuine)
        probes: list[Probe] = []
        stop_probing = asyncio.Event()
        probe_task = asyncio.create_task(_probe(service.base_url, probes, stop_probing))
        tasks.append(probe_task)
        await asyncio.to_thread(postgres.crash)
        down_at = time.monotonic()
        await asyncio.sleep(down_seconds)
        restart_at = time.monotonic()
        await asyncio.to_thread(postgres.start)
        up_at = time.monotonic()
        report = await sim_task
        stop_probing.set()
        await probe_task
        await service.stop()
        contents = await log_contents(postgres.url)
    finally:
        for task in tasks:
            task.cancel()
        if service is not None:
            await service.stop()
        await asyncio.to_thread(postgres.cleanup)
    return _result(seed, report, contents, probes, (down_at, restart_at, up_at), max_recovery)


def _result(
    seed: int,
    report: SimReport,
    contents: LogContents,
    probes: list[Probe],
    times: tuple[float, float, float],
    max_recovery: float,
) -> OutageResult:
    down_at, restart_at, up_at = times
    stored = contents.keys
    forged_ids = {r.delivery.key for r in report.records if r.delivery.forged}
    genuine_ids = {r.delivery.key for r in report.genuine}
    inside = [
        a
        for r in report.genuine
        for a in r.answers
        if a.sent_at >= down_at and a.answered_at <= restart_at
    ]
    after = [
        a.answered_at
        for r in report.genuine
        for a in r.answers
        if a.sent_at >= up_at and a.status is not None and 200 <= a.status < 300
    ]
    return OutageResult(
        seed=seed,
        deliveries=len(report.records),
        forged=len(forged_ids),
        acknowledged=len(report.acknowledged_keys),
        stored_rows=contents.rows,
        distinct_keys=contents.distinct_keys,
        missing=len(genuine_ids - stored),
        lost=len(report.acknowledged_keys - stored),
        forged_stored=len(forged_ids & stored),
        forged_accepted=report.forged_accepted,
        down_seconds=restart_at - down_at,
        answers_while_down=dict(Counter(str(a.status or a.error) for a in inside)),
        without_retry_after=sum(1 for a in inside if a.status == 503 and not a.retry_after),
        probes_while_down=dict(
            Counter(label for sent, done, label in probes if sent >= down_at and done <= restart_at)
        ),
        recovery_seconds=(min(after) - up_at) if after else None,
        max_recovery=max_recovery,
        seconds=report.finished_at - report.started_at,
        answers=dict(report.status_counts()),
    )
