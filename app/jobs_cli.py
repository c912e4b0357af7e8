"""``hookledger jobs``: look at and steer the outbox of event-driven workflows.

list [--status S] · show ID (with every attempt) · retry ID (due now, fresh attempts) ·
cancel ID (stop a pending job or acknowledge a dead one) · summary [--json].
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import msgspec

from app.bootstrap import prepare_database
from app.settings import Settings
from projections import outbox
from projections.db_types import Conn
from projections.status import OutboxSummary, outbox_summary

T = TypeVar("T")


def _with_conn(settings: Settings, work: Callable[[Conn], Awaitable[T]]) -> T:
    async def main() -> T:
        conn = await asyncpg.connect(
            settings.database_url, timeout=settings.db_connect_timeout_seconds
        )
        try:
            await prepare_database(conn)
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


def _when(job: outbox.Job) -> str:
    moment = job.delivered_at if job.status == "delivered" else job.next_attempt_at
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else "-"


def format_job(job: outbox.Job) -> str:
    error = (job.last_error or "").replace("\n", " ")[:80]
    return (
        f"{job.id:>6} {job.status:<9} {job.attempts:>3}  {job.workflow:<24} {job.action:<8}"
        f" {job.provider}:{job.event_id} ({job.event_type}) @{job.position}  {_when(job)}"
        + (f"  {error}" if error else "")
    )


def format_summary(s: OutboxSummary) -> str:
    reactor = (
        "not started (it starts with a worker when WORKFLOWS_FILE is set)"
        if s.reactor_checkpoint is None
        else f"checkpoint {s.reactor_checkpoint}, lag {s.reactor_lag_events} events, "
        + ("running" if s.reactor_running else "stopped")
    )
    return (
        f"outbox: {s.pending} pending ({s.due} due), oldest pending"
        f" {s.oldest_pending_age_seconds:.1f} s, {s.dead} dead\nreactor: {reactor}"
    )


def cmd_jobs(settings: Settings, args: argparse.Namespace) -> int:
    if args.action in ("show", "retry", "cancel") and args.id is None:
        print(f"hookledger jobs {args.action} needs an ID", file=sys.stderr)
        return 2

    async def work(conn: Conn) -> int:
        if args.action == "list":
            print("    id status    att  workflow                 action   event  next / done")
            for job in await outbox.list_jobs(conn, args.status, args.limit):
                print(format_job(job))
            return 0
        if args.action == "summary":
            summary = await outbox_summary(conn)
            print(msgspec.json.encode(summary).decode() if args.json else format_summary(summary))
            return 0
        try:
            if args.action == "show":
                found = await outbox.get_job(conn, args.id)
                if found is None:
                    raise LookupError(f"no job with id {args.id}")
                print(format_job(found))
                print(f"  idempotency key {found.idempotency_key} (webhook-id / Message-ID)")
                for a in await outbox.attempts_of(conn, args.id):
                    print(
                        f"  #{a.attempt} {a.started_at:%Y-%m-%d %H:%M:%S.%f} {a.outcome:<9}"
                        f" {a.error or a.detail or ''}"
                    )
                return 0
            change = outbox.retry_job if args.action == "retry" else outbox.cancel_job
            job = await change(conn, args.id)
            print(format_job(job))
            return 0
        except (LookupError, ValueError) as exc:
            print(str(exc), file=sys.stderr)
            return 1

    return _with_conn(settings, work)


def add_jobs_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = sub.add_parser("jobs", help="outbox jobs of workflows: list, show, retry, cancel")
    jobs.add_argument("action", choices=["list", "show", "retry", "cancel", "summary"])
    jobs.add_argument("id", nargs="?", type=int)
    jobs.add_argument("--status", choices=outbox.JOB_STATUSES, help="list only these")
    jobs.add_argument("--limit", type=int, default=100, help="list at most this many (newest)")
    jobs.add_argument("--json", action="store_true", help="summary as JSON")
    jobs.set_defaults(handler=cmd_jobs)
