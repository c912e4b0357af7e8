"""Scenario: SIGKILL projection workers (``hookledger worker``) again and again while they catch up
on a long log, restart them, and check the read models.

The log is filled first (whole customer journeys of all four providers, through the real appender,
tests/support/log_writer.py). Two worker processes run at a time, so one projection's runner may
die while another process stands by for it. Kills land when the lowest checkpoint passes random
marks, i.e. while the workers are mid-way through the log.

Guarantees checked: every checkpoint reaches the head of the log; nothing is parked; every read
model equals a rebuild from scratch (exactly-once effects: rows and checkpoint move in one
transaction, so a kill never applies a batch twice or half).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.support.log_writer import append_all
from tests.support.read_models import log_head, wait_for_checkpoints
from tests.support.rebuild_check import RebuildCheck, compare_with_rebuild
from tests.support.scenarios import generate
from tests.support.worker_process import WorkerProcess, worker_env

_LOWEST = (
    "SELECT coalesce(min(c.position), 0) FROM hookledger_projections p"
    " JOIN hookledger_checkpoints c ON c.projection = p.name"
    " AND c.schema_name = 'hl_' || p.name || '_g' || p.active_generation"
)


@dataclass(frozen=True, slots=True)
class WorkerCrashResult:
    seed: int
    events: int
    kills_planned: int
    kill_rounds: int
    """Rounds in which workers were SIGKILLed while checkpoints were behind the head."""
    processes_killed: int
    catch_up_seconds: float
    read_models: RebuildCheck

    def violations(self) -> list[str]:
        found = list(self.read_models.violations())
        if self.kill_rounds < self.kills_planned:
            found.append(f"only {self.kill_rounds} of {self.kills_planned} kills during catch-up")
        return [f"{v} (seed {self.seed})" for v in found]


async def _lowest_checkpoint(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(_LOWEST))


async def workers_killed_while_catching_up(
    database_url: str,
    workdir: Path,
    *,
    events: int = 15_000,
    kills: int = 3,
    batch_size: int = 500,
    seed: int = 0,
    timeout: float = 600.0,
) -> WorkerCrashResult:
    """``database_url`` must be a migrated, empty database."""
    rng = random.Random(seed)
    deliveries = generate(max(1, events // 13), seed=seed)
    while len(deliveries) < events:
        deliveries += generate(50, seed=seed + len(deliveries), first=len(deliveries))
    await append_all(database_url, deliveries)
    env = worker_env(database_url, workdir, batch_size=batch_size)
    workers = [WorkerProcess(env, workdir / f"worker-{i}.log") for i in range(2)]
    conn = await asyncpg.connect(database_url)
    rounds = killed = 0
    try:
        head = await log_head(conn)
        started = time.monotonic()
        for worker in workers:
            await worker.start()
        # Marks stop at 60 % of the log: the rest leaves time for the last kill to land while
        # the workers are still behind, however fast this machine happens to be right now.
        for mark in sorted(rng.uniform(0.05, 0.6) for _ in range(kills)):
            while (lowest := await _lowest_checkpoint(conn)) < mark * head:
                if time.monotonic() - started > timeout:
                    break
                await asyncio.sleep(0.02)
            if lowest >= head:
                break
            await asyncio.sleep(rng.uniform(0, 0.1))
            victims = rng.choice([workers[:1], workers[1:], workers])
            for victim in victims:
                await victim.kill()
            rounds += 1
            killed += len(victims)
            await asyncio.sleep(rng.uniform(0, 0.3))
            for victim in victims:
                await victim.start()
        await wait_for_checkpoints(conn, head, timeout=timeout)
        catch_up = time.monotonic() - started
    finally:
        await conn.close()
        for worker in workers:
            await worker.stop()
    return WorkerCrashResult(
        seed=seed,
        events=len(deliveries),
        kills_planned=kills,
        kill_rounds=rounds,
        processes_killed=killed,
        catch_up_seconds=catch_up,
        read_models=await compare_with_rebuild(database_url),
    )
