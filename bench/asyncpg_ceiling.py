"""Ceiling (c): a bare asyncpg single-row durable INSERT per delivery.

``python -m bench.asyncpg_ceiling --database-url URL --out result.json``

``--concurrency`` tasks, each INSERTing one row per statement (its own implicit transaction,
committed before the next; ``synchronous_commit`` as the server has it, i.e. on) into a table with
a unique text key and the raw body as bytea, through a pool with one connection per task.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from pathlib import Path

import asyncpg

from bench import loop
from bench.payload import StripeDeliveries
from bench.stats import DriverResult, summarize, write_result

_DDL = """
CREATE TABLE IF NOT EXISTS bench_single_rows (
    id          bigserial   PRIMARY KEY,
    event_id    text        NOT NULL UNIQUE,
    payload     bytea       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
)
"""
_INSERT = "INSERT INTO bench_single_rows (event_id, payload) VALUES ($1, $2)"


class _Run:
    def __init__(self, window_start: float, window_end: float) -> None:
        self.window_start = window_start
        self.window_end = window_end
        self.latencies: list[float] = []
        self.ok = 0
        self.errors = 0
        self.inserted_total = 0


async def _worker(pool: asyncpg.Pool, gen: StripeDeliveries, first: int, run: _Run) -> None:
    n = first
    while time.monotonic() < run.window_end:
        body = gen.body(n)
        event_id = f"evt_pg{n:020d}"
        n += 1
        started = time.monotonic()
        try:
            async with pool.acquire() as conn:
                await conn.execute(_INSERT, event_id, body)
            failed = False
            run.inserted_total += 1
        except (asyncpg.PostgresError, OSError):
            failed = True
        done = time.monotonic()
        if run.window_start <= done <= run.window_end:
            run.latencies.append(done - started)
            run.errors += failed
            run.ok += not failed


async def _cpu_over_window(run: _Run) -> float:
    await asyncio.sleep(max(0.0, run.window_start - time.monotonic()))
    before = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.sleep(max(0.0, run.window_end - time.monotonic()))
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


async def measure(args: argparse.Namespace) -> DriverResult:
    pool = await asyncpg.create_pool(
        args.database_url, min_size=args.concurrency, max_size=args.concurrency
    )
    assert pool is not None
    try:
        async with pool.acquire() as conn:
            await conn.execute(_DDL)
        gen = StripeDeliveries(host="-", id_prefix="pg")
        start = time.monotonic()
        run = _Run(start + args.warmup, start + args.warmup + args.duration)
        cpu = asyncio.create_task(_cpu_over_window(run))
        tasks = [
            asyncio.create_task(_worker(pool, gen, i * 10**12, run))
            for i in range(args.concurrency)
        ]
        own_cpu = await cpu
        await asyncio.wait(tasks, timeout=30)
        async with pool.acquire() as conn:
            rows = await conn.fetchval("SELECT count(*) FROM bench_single_rows")
    finally:
        await pool.close()
    return DriverResult(
        label="asyncpg single-row INSERT",
        ok=run.ok,
        errors=run.errors,
        window_start=run.window_start,
        window_end=run.window_end,
        latency=summarize(run.latencies),
        own_cpu_seconds=own_cpu,
        totals={"inserted": run.inserted_total, "rows": int(rows)},
        notes={"concurrency": float(args.concurrency)},
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.asyncpg_ceiling", description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    args = parser.parse_args()
    write_result(args.out, loop.run(measure(args)))


if __name__ == "__main__":
    main()
