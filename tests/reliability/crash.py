"""Scenario: SIGKILL the whole service (supervisor and web workers) at random moments while a
retrying provider keeps sending, restart it each time, then check the log.

The deliveries are whole customer journeys from all four providers (tests/support/scenarios.py,
signed with each provider's SDK), plus forged Stripe deliveries. A ``hookledger worker`` follows
the log throughout, so the read models are built live while the server dies and comes back.

Guarantees checked: every genuine delivery ends in the log exactly once; every delivery that
ever got a 2xx is there (nothing acknowledged is lost); no key is stored twice; no forged
delivery is stored or acknowledged; no secret reaches the service's log output; the live read
models equal a rebuild from scratch and nothing is parked.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from tests.reliability.log_outcome import LogOutcome
from tests.support import signing
from tests.support.event_log import log_contents
from tests.support.provider_sim import ProviderSimulator
from tests.support.read_models import log_head, wait_for_checkpoints
from tests.support.rebuild_check import RebuildCheck, compare_with_rebuild
from tests.support.service_process import ServiceProcess, free_port, service_env
from tests.support.signed_scenarios import signed_deliveries
from tests.support.worker_process import WorkerProcess, worker_env


@dataclass(frozen=True, slots=True)
class CrashResult(LogOutcome):
    duplicate_answers: int
    """Answers saying "duplicate": retries of deliveries whose first answer was lost to a kill."""
    kills_planned: int
    kills_done: int
    restart_seconds: list[float]
    seconds: float
    secret_in_log: bool
    read_models: RebuildCheck
    answers: dict[str, int] = field(default_factory=dict)

    def violations(self) -> list[str]:
        found = []
        if self.kills_done < self.kills_planned:
            found.append(
                f"only {self.kills_done} of {self.kills_planned} kills happened under load"
            )
        found += self.log_violations()
        if self.secret_in_log:
            found.append("a webhook secret appears in the service's log output")
        found += self.read_models.violations()
        return [f"{v} (seed {self.seed})" for v in found]


async def _kill_at_random_moments(
    service: ServiceProcess,
    sim: ProviderSimulator,
    kills: int,
    genuine: int,
    rng: random.Random,
) -> list[float]:
    """Kills when acknowledgements pass random marks (so every kill lands under load), at a
    random instant after that; restarts after a random pause. Returns the restart times."""
    restarts = []
    for mark in sorted(rng.uniform(0.05, 0.8) for _ in range(kills)):
        if not await sim.wait_acknowledged(mark * genuine):
            break
        await asyncio.sleep(rng.uniform(0, 0.05))
        await service.kill()
        await asyncio.sleep(rng.uniform(0, 0.3))
        restarts.append(await service.start())
    return restarts


async def crash_under_load(
    database_url: str,
    workdir: Path,
    *,
    deliveries: int = 1500,
    kills: int = 2,
    concurrency: int = 128,
    forged_share: float = 0.02,
    workers: int = 2,
    seed: int = 0,
    give_up_after: float = 300.0,
) -> CrashResult:
    """``database_url`` may be empty or migrated; the service prepares it on start. ``deliveries``
    genuine ones (rounded up to whole customer journeys) plus a ``forged_share`` of forged ones."""
    rng = random.Random(seed)
    batch = signed_deliveries(deliveries, forged_share=forged_share, seed=seed)
    genuine = [d for d in batch if not d.forged]
    env = service_env(database_url, free_port(), workers=workers, **signing.ALL_SECRETS_ENV)
    service = ServiceProcess(env, workdir / "service-crash.log")
    await service.start()
    worker = WorkerProcess(worker_env(database_url, workdir), workdir / "worker-crash.log")
    await worker.start()
    sim = ProviderSimulator(
        service.base_url, batch, concurrency=concurrency, seed=seed, give_up_after=give_up_after
    )
    sim_task = asyncio.create_task(sim.run())
    try:
        restarts = await _kill_at_random_moments(service, sim, kills, len(genuine), rng)
        report = await sim_task
        await service.stop()
        conn = await asyncpg.connect(database_url)
        try:
            await wait_for_checkpoints(conn, await log_head(conn), timeout=give_up_after)
        finally:
            await conn.close()
    finally:
        if not sim_task.done():
            sim_task.cancel()
        await service.stop()
        await worker.stop()
    contents = await log_contents(database_url)
    forged_keys = {d.key for d in batch if d.forged}
    genuine_keys = {d.key for d in genuine}
    outcomes = report.outcome_counts()
    service_log = service.log_path.read_text("utf-8", "replace")
    service_log += worker.log_path.read_text("utf-8", "replace")
    return CrashResult(
        seed=seed,
        deliveries=len(batch),
        forged=len(forged_keys),
        acknowledged=len(report.acknowledged_keys),
        stored_rows=contents.rows,
        distinct_keys=contents.distinct_keys,
        missing=len(genuine_keys - contents.keys),
        lost=len(report.acknowledged_keys - contents.keys),
        forged_stored=len(forged_keys & contents.keys),
        forged_accepted=report.forged_accepted,
        duplicate_answers=outcomes["duplicate"],
        kills_planned=kills,
        kills_done=service.kills,
        restart_seconds=restarts,
        seconds=report.finished_at - report.started_at,
        secret_in_log=any(s in service_log for s in signing.ALL_SECRETS_ENV.values()),
        read_models=await compare_with_rebuild(database_url),
        answers=dict(report.status_counts()),
    )
