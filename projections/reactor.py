"""The reactor: follows the log and enqueues one outbox job per (workflow, event) it triggers.

Each step runs in one transaction: lock the reactor's checkpoint row, read the next events,
insert their jobs (``ON CONFLICT DO NOTHING`` on the unique keys), move the checkpoint, NOTIFY
the dispatchers. So a job is enqueued exactly once even across crashes and standby takeovers.
The checkpoint is its own row in ``hookledger_checkpoints`` (projection and schema ``reactor``),
which rebuilds never touch: rebuilding read models never re-runs reactions.

A reactor that has never run starts at the log's head (``latest``: only events appended from
then on trigger workflows) unless told ``earliest`` (react to the whole history).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from domain.products import ProductCatalog
from domain.workflows import WorkflowSet
from domain.workflows.signing import idempotency_key
from projections.db_types import Conn
from projections.log_reader import read_after
from projections.worker import WorkerConfig, run_elected

REACTOR = "reactor"
REACTOR_LOCK_ID = 100  # second advisory-lock key; projections use 1..99
JOBS_CHANNEL = "hookledger_jobs"


async def ensure_checkpoint(conn: Conn, start: str = "latest") -> None:
    """Create the reactor's checkpoint if it has none: at the log head (``latest``) or 0."""
    if start not in ("latest", "earliest"):
        raise ValueError(f"start must be latest or earliest, got {start!r}")
    await conn.execute(
        "INSERT INTO hookledger_checkpoints (projection, schema_name, position)"
        " SELECT $1, $1, CASE WHEN $2 THEN coalesce(max(notification_id), 0) ELSE 0 END"
        " FROM hookledger_events ON CONFLICT (projection, schema_name) DO NOTHING",
        REACTOR,
        start == "latest",
    )


async def react(conn: Conn, workflows: WorkflowSet, batch_size: int) -> int:
    """One batch, inside the caller's transaction; returns how many events it consumed."""
    position = await conn.fetchval(
        "SELECT position FROM hookledger_checkpoints"
        " WHERE projection = $1 AND schema_name = $1 FOR UPDATE",
        REACTOR,
    )
    if position is None:
        raise LookupError("the reactor has no checkpoint (ensure_checkpoint)")
    events = await read_after(conn, position, batch_size)
    if not events:
        return 0
    jobs = [
        (w.name, w.action, e.position, e.provider, e.event_id, e.event_type)
        for e in events
        for w in workflows.reactions(e.provider, e.event_type, e.body)
    ]
    if jobs:
        await conn.execute(
            "INSERT INTO hookledger_jobs"
            " (workflow, action, position, provider, event_id, event_type, idempotency_key)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[],"
            " $6::text[], $7::text[]) ON CONFLICT DO NOTHING",
            *(list(column) for column in zip(*jobs, strict=True)),
            [idempotency_key(j[0], j[3], j[4]) for j in jobs],
        )
        await conn.execute(f"NOTIFY {JOBS_CHANNEL}")
    await conn.execute(
        "UPDATE hookledger_checkpoints SET position = $2, updated_at = now()"
        " WHERE projection = $1 AND schema_name = $1",
        REACTOR,
        events[-1].position,
    )
    return len(events)


async def run_reactor(
    workflows: WorkflowSet,
    database_url: str,
    stop: asyncio.Event,
    *,
    batch_size: int = 1000,
    poll_seconds: float = 1.0,
    connect_timeout: float = 5.0,
    start: str = "latest",
    on_leader: Callable[[str], None] | None = None,
) -> None:
    """Follow the log while elected (one active reactor across all processes)."""
    ready = False

    async def step(conn: Conn) -> int:
        nonlocal ready
        if not ready:
            await ensure_checkpoint(conn, start)
            ready = True
        async with conn.transaction():
            return await react(conn, workflows, batch_size)

    config = WorkerConfig(
        database_url=database_url,
        catalog=ProductCatalog.empty(),
        batch_size=batch_size,
        poll_seconds=poll_seconds,
        connect_timeout=connect_timeout,
    )
    await run_elected(REACTOR, REACTOR_LOCK_ID, step, config, stop, on_leader)
