"""``python -m tests.reliability`` (``make reliability``): the long fault runs, with a summary.

    python -m tests.reliability                       # every scenario at the issue's sizes
    python -m tests.reliability --only crash --deliveries 50000 --kills 10
    python -m tests.reliability --quick               # the short sizes, as in make test

Scenarios: crash (SIGKILL the server under a retrying provider), outage (PostgreSQL immediate
shutdown under load), worker (SIGKILL projection workers while they catch up), storm (the same
deliveries sent 20 times, concurrently), flood (forged deliveries from one address next to
genuine ones). Exit status: 0 when every guarantee held, 1 on any violation (each is printed),
2 on bad usage. Uses TEST_DATABASE_URL / DATABASE_URL when set, else an embedded PostgreSQL in a
temporary folder; the outage scenario always starts a PostgreSQL of its own (it crashes it).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from app.bootstrap import prepare_database
from tests.reliability import report
from tests.reliability.crash import crash_under_load
from tests.reliability.flood import forged_flood
from tests.reliability.outage import database_outage
from tests.reliability.worker_crash import workers_killed_while_catching_up
from tests.support.postgres import admin_url, create_database, drop_database, with_database
from tests.support.retry_storm import StormResult, retry_storm
from tests.support.service_process import ServiceProcess, free_port, service_env

SCENARIOS = ("crash", "outage", "worker", "storm", "flood")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tests.reliability",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--only", default=",".join(SCENARIOS), help=",".join(SCENARIOS))
    p.add_argument("--quick", action="store_true", help="the short sizes used by make test")
    p.add_argument("--deliveries", type=int, default=20_000, help="crash: genuine deliveries")
    p.add_argument("--kills", type=int, default=5, help="crash: server SIGKILLs")
    p.add_argument("--concurrency", type=int, default=128)
    p.add_argument("--forged-share", type=float, default=0.05)
    p.add_argument("--outage-deliveries", type=int, default=10_000)
    p.add_argument("--outage-seconds", type=float, default=8.0)
    p.add_argument("--worker-events", type=int, default=100_000)
    p.add_argument("--worker-kills", type=int, default=8)
    p.add_argument("--storm-n", type=int, default=1000)
    p.add_argument("--storm-repetitions", type=int, default=20)
    p.add_argument("--flood-deliveries", type=int, default=3000, help="genuine, per phase")
    p.add_argument(
        "--flood-rates",
        default="500,full",
        help="forged deliveries per second, one flood run each; 'full': as fast as it goes",
    )
    p.add_argument("--workers", type=int, default=2, help="WEB_WORKERS for crash, outage, flood")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--keep", action="store_true", help="keep the work folder (service logs)")
    return p


def _quick(args: argparse.Namespace) -> None:
    args.deliveries, args.kills, args.forged_share = 1500, 2, 0.02
    args.outage_deliveries, args.outage_seconds = 3000, 3.0
    args.worker_events, args.worker_kills = 15_000, 3
    args.storm_n, args.flood_deliveries = 200, 300


@asynccontextmanager
async def _fresh_database(admin: str, migrated: bool = False) -> AsyncIterator[str]:
    """An empty database (the service migrates it on start), dropped afterwards."""
    name = await create_database(admin)
    url = with_database(admin, name)
    try:
        if migrated:
            conn = await asyncpg.connect(url)
            try:
                await prepare_database(conn)
            finally:
                await conn.close()
        yield url
    finally:
        await drop_database(admin, name)


async def _storm(admin: str, workdir: Path, args: argparse.Namespace, seed: int) -> StormResult:
    async with _fresh_database(admin) as url:
        # One web worker: /metrics is per process, and the storm checks the duplicate counter.
        service = ServiceProcess(service_env(url, free_port(), workers=1), workdir / "storm.log")
        await service.start()
        try:
            return await retry_storm(
                service.base_url, url, n=args.storm_n, repetitions=args.storm_repetitions, seed=seed
            )
        finally:
            await service.stop()


def _rates(text: str) -> list[float | None]:
    return [None if r.strip() == "full" else float(r) for r in text.split(",") if r.strip()]


async def _run(args: argparse.Namespace, workdir: Path, only: set[str]) -> list[str]:
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"seed {seed}; work folder {workdir}", flush=True)
    violations: list[str] = []
    totals = report.Totals()
    (workdir / "postgres").mkdir()
    with admin_url(workdir / "postgres") as admin:
        if "crash" in only:
            async with _fresh_database(admin) as url:
                crash = await crash_under_load(
                    url,
                    workdir,
                    deliveries=args.deliveries,
                    kills=args.kills,
                    concurrency=args.concurrency,
                    forged_share=args.forged_share,
                    workers=args.workers,
                    seed=seed,
                )
            report.print_crash(crash)
            violations += [f"crash: {v}" for v in crash.violations()]
            totals.add_crash(crash)
        if "outage" in only:
            outage = await database_outage(
                workdir / "outage",
                deliveries=args.outage_deliveries,
                down_seconds=args.outage_seconds,
                forged_share=args.forged_share,
                workers=args.workers,
                seed=seed,
            )
            report.print_outage(outage)
            violations += [f"outage: {v}" for v in outage.violations()]
            totals.add_outage(outage)
        if "worker" in only:
            async with _fresh_database(admin, migrated=True) as url:
                worker = await workers_killed_while_catching_up(
                    url, workdir, events=args.worker_events, kills=args.worker_kills, seed=seed
                )
            report.print_worker(worker)
            violations += [f"worker: {v}" for v in worker.violations()]
            totals.kills_survived += worker.processes_killed
        if "storm" in only:
            storm = await _storm(admin, workdir, args, seed)
            report.print_storm(storm)
            violations += [f"storm: {v}" for v in storm.violations()]
            totals.add_storm(storm)
        for rate in _rates(args.flood_rates) if "flood" in only else []:
            async with _fresh_database(admin) as url:
                flood = await forged_flood(
                    url,
                    workdir,
                    deliveries=args.flood_deliveries,
                    workers=args.workers,
                    rate=rate,
                    seed=seed,
                )
            report.print_flood(flood)
            violations += [f"flood: {v}" for v in flood.violations()]
            totals.add_flood(flood)
    print("summary " + totals.line())
    return violations


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.quick:
        _quick(args)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    if only - set(SCENARIOS):
        print(f"unknown scenario(s): {', '.join(sorted(only - set(SCENARIOS)))}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="hookledger-reliability-"))
    started = time.monotonic()
    violations = asyncio.run(_run(args, workdir, only))
    print(f"finished in {time.monotonic() - started:.0f} s")
    for violation in violations:
        print(f"VIOLATION {violation}")
    print("RESULT " + ("FAIL" if violations else "PASS"))
    if violations or args.keep:
        print(f"service logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
