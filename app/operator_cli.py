"""Operator subcommands: worker, status, rebuild, parked, jobs. Each gets the built settings."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import msgspec

from app.bootstrap import load_catalog, prepare_database
from app.jobs_cli import add_jobs_command, format_summary
from app.reactions import OUTBOX_PARTS, run_reactions
from app.settings import Settings
from projections import parked, rebuild
from projections.db_types import Conn
from projections.rebuild import Progress
from projections.schema import PROJECTIONS
from projections.status import outbox_summary, projection_status
from projections.worker import WorkerConfig, run_worker


@asynccontextmanager
async def _connection(settings: Settings) -> AsyncIterator[Conn]:
    conn = await asyncpg.connect(settings.database_url, timeout=settings.db_connect_timeout_seconds)
    try:
        await prepare_database(conn)
        yield conn
    finally:
        await conn.close()


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    assert settings.database_url
    config = WorkerConfig(
        database_url=settings.database_url,
        catalog=load_catalog(settings.products_file),
        batch_size=settings.worker_batch_size,
        poll_seconds=settings.worker_poll_seconds,
        connect_timeout=settings.db_connect_timeout_seconds,
    )

    async def main() -> None:
        async with _connection(settings):
            pass
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        only = args.only or []
        names = [n for n in only if n in PROJECTIONS]
        parts = [n for n in only if n in OUTBOX_PARTS]
        tasks = []
        if names or not only:
            tasks.append(run_worker(config, stop, names))
        if parts or not only:  # reactor and dispatcher: only when WORKFLOWS_FILE is set
            tasks.append(run_reactions(settings, stop, parts or OUTBOX_PARTS))
        await asyncio.gather(*tasks)

    asyncio.run(main())
    return 0


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    async def main() -> None:
        async with _connection(settings) as conn:
            rows = await projection_status(conn)
            jobs = await outbox_summary(conn)
        if args.json:
            print(msgspec.json.encode(rows).decode())
            return
        print(
            f"{'projection':<16}{'gen':>4}{'checkpoint':>12}{'head':>12}{'lag':>10}"
            f"{'lag s':>9}{'parked':>8}  state"
        )
        for r in rows:
            state = "running" if r.running else "stopped"
            if r.rebuilding:
                state += f", rebuilding (at {r.rebuild_checkpoint})"
            print(
                f"{r.name:<16}{r.generation:>4}{r.checkpoint:>12}{r.head:>12}{r.lag_events:>10}"
                f"{r.lag_seconds:>9.1f}{r.parked:>8}  {state}"
            )
        print(format_summary(jobs))

    asyncio.run(main())
    return 0


def _print_progress(p: Progress) -> None:
    pct = 100.0 * p.done / p.total if p.total else 100.0
    eta = p.remaining_seconds
    eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}" if eta is not None else "-"
    bar = "#" * int(pct / 4)
    sys.stderr.write(
        f"\r{p.projection:<15} [{bar:<25}] {p.done:>10,}/{p.total:,} {pct:5.1f}%"
        f" {p.rate:>9,.0f} ev/s  left {eta_text}   "
    )
    sys.stderr.flush()


def cmd_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    names = list(PROJECTIONS) if args.name == "all" else [args.name]
    catalog = load_catalog(settings.products_file)
    moment = datetime.fromisoformat(args.as_of) if args.as_of else None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)

    async def main() -> None:
        async with _connection(settings) as conn:
            if moment is None:
                # One writing connection per read model (two at least): see rebuild._replay.
                writers = [
                    await asyncpg.connect(settings.database_url)
                    for _ in range(max(1, len(names) - 1))
                ]
                try:
                    schemas = await rebuild.rebuild(
                        conn, names, catalog, settings.rebuild_batch_size, _print_progress, writers
                    )
                finally:
                    for writer in writers:
                        await writer.close()
                for name, schema in zip(names, schemas, strict=True):
                    print(f"\n{name}: rebuilt and swapped in ({schema})", end="")
                print()
                return
            for name in names:
                schema = await rebuild.build_as_of(
                    conn, name, moment, catalog, settings.rebuild_batch_size, _print_progress
                )
                print(f"\n{name} as of {moment.isoformat()}: SELECT * FROM {schema}.{name}")

    asyncio.run(main())
    return 0


def cmd_parked(settings: Settings, args: argparse.Namespace) -> int:
    catalog = load_catalog(settings.products_file)

    async def main() -> int:
        async with _connection(settings) as conn:
            if args.action == "list":
                found = await parked.list_parked(conn, include_resolved=args.all)
                if not found:
                    print("no parked events" + ("" if args.all else " (--all lists resolved ones)"))
                for p in found:
                    print(
                        f"{p.id:>6} {p.status:<8} {p.projection:<15} pos={p.position:<10}"
                        f" {p.provider}:{p.event_id} ({p.event_type}) {p.error}"
                    )
                return 0
            if args.id is None:
                print("hookledger parked retry|skip needs an ID", file=sys.stderr)
                return 2
            try:
                if args.action == "retry":
                    ok = await parked.retry_parked(conn, args.id, catalog)
                    print("applied" if ok else "still failing (error updated)")
                    return 0 if ok else 1
                await parked.skip_parked(conn, args.id)
                print("skipped")
                return 0
            except LookupError as exc:
                print(str(exc), file=sys.stderr)
                return 1

    return asyncio.run(main())


def add_operator_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser("worker", help="run the projection workers (and workflows)")
    worker.add_argument(
        "--only", action="append", choices=[*PROJECTIONS, *OUTBOX_PARTS], help="run only these"
    )
    worker.set_defaults(handler=cmd_worker)
    status = sub.add_parser("status", help="projection checkpoints, lag, parked events")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)
    rb = sub.add_parser("rebuild", help="rebuild read models from the log (blue-green)")
    rb.add_argument("name", choices=[*PROJECTIONS, "all"])
    rb.add_argument("--as-of", help="ISO timestamp: build a point-in-time copy instead")
    rb.set_defaults(handler=cmd_rebuild)
    pk = sub.add_parser("parked", help="list, retry or skip parked events")
    pk.add_argument("action", choices=["list", "retry", "skip"])
    pk.add_argument("id", nargs="?", type=int)
    pk.add_argument("--all", action="store_true", help="list resolved ones too")
    pk.set_defaults(handler=cmd_parked)
    add_jobs_command(sub)
