"""Status for operators: per projection checkpoint, log head, lag, parked, running/rebuilding;
for the outbox, queue depth, oldest pending age, dead-letter count and the reactor's lag."""

from __future__ import annotations

from datetime import datetime

import msgspec

from projections.db_types import Conn
from projections.reactor import REACTOR, REACTOR_LOCK_ID
from projections.registry import SPECS
from projections.schema import schema_name
from projections.worker import LOCK_NAMESPACE


class ProjectionStatus(msgspec.Struct):
    name: str
    generation: int
    checkpoint: int
    head: int
    lag_events: int
    lag_seconds: float
    parked: int
    running: bool
    rebuilding: bool
    rebuild_checkpoint: int | None
    updated_at: datetime | None


async def projection_status(conn: Conn) -> list[ProjectionStatus]:
    log_head = await conn.fetchval(
        "SELECT coalesce(max(notification_id), 0) FROM hookledger_events"
    )
    rows = await conn.fetch(
        "SELECT p.name, p.active_generation, p.rebuilding_generation, c.position, c.updated_at,"
        " (SELECT count(*) FROM hookledger_parked k WHERE k.projection = p.name"
        "   AND k.status = 'parked') AS parked"
        " FROM hookledger_projections p JOIN hookledger_checkpoints c"
        "   ON c.projection = p.name"
        "   AND c.schema_name = 'hl_' || p.name || '_g' || p.active_generation"
        " ORDER BY p.name"
    )
    held = {
        r[0]
        for r in await conn.fetch(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND objsubid = 2 AND classid::bigint = $1",
            LOCK_NAMESPACE,
        )
    }
    result = []
    for r in rows:
        position = r["position"]
        lag = await conn.fetchrow(
            "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(received_at)), 0) AS s"
            " FROM hookledger_events WHERE notification_id > $1",
            position,
        )
        assert lag is not None
        rebuild_pos = None
        if r["rebuilding_generation"] is not None:
            rebuild_pos = await conn.fetchval(
                "SELECT position FROM hookledger_checkpoints WHERE projection = $1"
                " AND schema_name = $2",
                r["name"],
                schema_name(r["name"], r["rebuilding_generation"]),
            )
        spec = SPECS.get(r["name"])
        result.append(
            ProjectionStatus(
                name=r["name"],
                generation=r["active_generation"],
                checkpoint=position,
                head=log_head,
                lag_events=lag["n"],
                lag_seconds=float(lag["s"]),
                parked=r["parked"],
                running=spec is not None and spec.lock_id in held,
                rebuilding=r["rebuilding_generation"] is not None,
                rebuild_checkpoint=rebuild_pos,
                updated_at=r["updated_at"],
            )
        )
    return result


class OutboxSummary(msgspec.Struct):
    pending: int
    """Queue depth: jobs waiting to be delivered (due now or retrying later)."""
    due: int
    oldest_pending_age_seconds: float
    """Age of the oldest pending job (0 when none)."""
    dead: int
    """Dead-letter count: jobs that used up their attempts (``hookledger jobs retry``)."""
    reactor_checkpoint: int | None
    """None until the reactor first runs (WORKFLOWS_FILE set)."""
    reactor_lag_events: int
    reactor_running: bool


async def outbox_summary(conn: Conn) -> OutboxSummary:
    jobs = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE status = 'pending') AS pending,"
        " count(*) FILTER (WHERE status = 'pending' AND next_attempt_at <= now()) AS due,"
        " coalesce(extract(epoch FROM now() - min(created_at) FILTER"
        "   (WHERE status = 'pending')), 0) AS oldest,"
        " count(*) FILTER (WHERE status = 'dead') AS dead"
        " FROM hookledger_jobs WHERE status IN ('pending', 'dead')"
    )
    assert jobs is not None
    checkpoint = await conn.fetchval(
        "SELECT position FROM hookledger_checkpoints WHERE projection = $1 AND schema_name = $1",
        REACTOR,
    )
    lag = 0
    if checkpoint is not None:
        lag = await conn.fetchval(
            "SELECT count(*) FROM hookledger_events WHERE notification_id > $1", checkpoint
        )
    running = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND objsubid = 2 AND classid::bigint = $1 AND objid::bigint = $2)",
        LOCK_NAMESPACE,
        REACTOR_LOCK_ID,
    )
    return OutboxSummary(
        pending=jobs["pending"],
        due=jobs["due"],
        oldest_pending_age_seconds=max(0.0, float(jobs["oldest"])),
        dead=jobs["dead"],
        reactor_checkpoint=checkpoint,
        reactor_lag_events=lag,
        reactor_running=bool(running),
    )
