"""The outbox tables (migrations/0003_outbox.sql): claiming due jobs, recording attempts, and the
operator actions (list, show, retry, cancel).

Claiming takes row locks with ``FOR UPDATE SKIP LOCKED`` inside the dispatcher's transaction,
which stays open until the attempts are recorded: several dispatchers never send the same job at
the same time, and a dispatcher that dies mid-send leaves its jobs to the next one (at-least-once).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from domain.log_record import LoggedEvent
from projections.db_types import Conn
from projections.reactor import JOBS_CHANNEL

JOB_STATUSES = ("pending", "delivered", "dead", "cancelled")
OUTCOME_STATUS = {"delivered": "delivered", "retry": "pending", "dead": "dead"}

_JOB_COLUMNS = (
    "j.id, j.workflow, j.action, j.position, j.provider, j.event_id, j.event_type,"
    " j.idempotency_key, j.status, j.attempts, j.next_attempt_at, j.last_error, j.created_at,"
    " j.updated_at, j.delivered_at"
)


class Job(msgspec.Struct):
    id: int
    workflow: str
    action: str
    position: int
    provider: str
    event_id: str
    event_type: str
    idempotency_key: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


class Attempt(msgspec.Struct):
    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    error: str | None
    detail: str | None


async def claim_due(conn: Conn, limit: int) -> list[tuple[Job, LoggedEvent]]:
    """Due pending jobs with their events, locked until the caller's transaction ends."""
    rows = await conn.fetch(
        f"SELECT {_JOB_COLUMNS}, e.occurred_at, e.received_at, e.state, e.body_offset"
        " FROM hookledger_jobs j JOIN hookledger_events e ON e.notification_id = j.position"
        " WHERE j.status = 'pending' AND j.next_attempt_at <= now()"
        " ORDER BY j.next_attempt_at, j.id LIMIT $1 FOR UPDATE OF j SKIP LOCKED",
        limit,
    )
    out = []
    for r in rows:
        job = Job(*list(r.values())[:15])
        event = LoggedEvent(
            position=job.position,
            provider=job.provider,
            event_id=job.event_id,
            event_type=job.event_type,
            occurred_at=r["occurred_at"],
            received_at=r["received_at"],
            body=r["state"][r["body_offset"] : -1],
        )
        out.append((job, event))
    return out


async def record_attempt(
    conn: Conn,
    job: Job,
    started_at: datetime,
    outcome: str,
    error: str | None,
    detail: str | None,
    retry_in_seconds: float = 0.0,
) -> None:
    """Record one attempt of a claimed job and move the job on (inside the claim's transaction).

    Times are ``clock_timestamp()``: ``now()`` is the claim's start, before the attempt was made,
    and the retry delay counts from the end of the attempt."""
    status = OUTCOME_STATUS[outcome]
    await conn.execute(
        "INSERT INTO hookledger_job_attempts (job_id, attempt, started_at, finished_at, outcome,"
        " error, detail) VALUES ($1, $2, $3, clock_timestamp(), $4, $5, $6)",
        job.id,
        job.attempts + 1,
        started_at,
        outcome,
        error[:2000] if error else None,
        detail[:500] if detail else None,
    )
    await conn.execute(
        "UPDATE hookledger_jobs SET attempts = attempts + 1, status = $2, last_error = $3,"
        " next_attempt_at = CASE WHEN $2 = 'pending'"
        "   THEN clock_timestamp() + make_interval(secs => $4) ELSE next_attempt_at END,"
        " delivered_at = CASE WHEN $2 = 'delivered' THEN clock_timestamp() END,"
        " updated_at = clock_timestamp() WHERE id = $1",
        job.id,
        status,
        error[:2000] if error else None,
        retry_in_seconds,
    )
    if status == "pending":
        await conn.execute(f"NOTIFY {JOBS_CHANNEL}")  # dispatchers re-plan their next wake-up


async def seconds_until_next(conn: Conn) -> float | None:
    """Seconds until the earliest pending job that is not yet due becomes due (None: none)."""
    value = await conn.fetchval(
        "SELECT extract(epoch FROM min(next_attempt_at) - now()) FROM hookledger_jobs"
        " WHERE status = 'pending' AND next_attempt_at > now()"
    )
    return None if value is None else float(value)


async def list_jobs(conn: Conn, status: str | None = None, limit: int = 100) -> list[Job]:
    rows = await conn.fetch(
        f"SELECT {_JOB_COLUMNS} FROM hookledger_jobs j"
        " WHERE $1::text IS NULL OR j.status = $1 ORDER BY j.id DESC LIMIT $2",
        status,
        limit,
    )
    return [Job(*r.values()) for r in rows]


async def get_job(conn: Conn, job_id: int) -> Job | None:
    row = await conn.fetchrow(
        f"SELECT {_JOB_COLUMNS} FROM hookledger_jobs j WHERE j.id = $1", job_id
    )
    return Job(*row.values()) if row is not None else None


async def attempts_of(conn: Conn, job_id: int) -> list[Attempt]:
    rows = await conn.fetch(
        "SELECT attempt, started_at, finished_at, outcome, error, detail"
        " FROM hookledger_job_attempts WHERE job_id = $1 ORDER BY id",
        job_id,
    )
    return [Attempt(*r.values()) for r in rows]


async def _change(
    conn: Conn, job_id: int, sql: str, allowed: tuple[str, ...], verb: str, notify: bool = False
) -> Job:
    async with conn.transaction():
        # Waits for a dispatcher sending this job; then sees the status it recorded.
        status = await conn.fetchval(
            "SELECT status FROM hookledger_jobs WHERE id = $1 FOR UPDATE", job_id
        )
        if status is None:
            raise LookupError(f"no job with id {job_id}")
        if status not in allowed:
            raise ValueError(f"job {job_id} is {status}: cannot {verb} it")
        await conn.execute(sql, job_id)
        if notify:
            await conn.execute(f"NOTIFY {JOBS_CHANNEL}")
    job = await get_job(conn, job_id)
    assert job is not None
    return job


async def retry_job(conn: Conn, job_id: int) -> Job:
    """Make a dead, cancelled or pending job due now with a fresh set of attempts (earlier
    attempts stay recorded)."""
    return await _change(
        conn,
        job_id,
        "UPDATE hookledger_jobs SET status = 'pending', attempts = 0, next_attempt_at = now(),"
        " updated_at = now() WHERE id = $1",
        ("dead", "cancelled", "pending"),
        "retry",
        notify=True,
    )


async def cancel_job(conn: Conn, job_id: int) -> Job:
    """Stop a pending job, or acknowledge a dead one; it is kept for the record."""
    return await _change(
        conn,
        job_id,
        "UPDATE hookledger_jobs SET status = 'cancelled', updated_at = now() WHERE id = $1",
        ("pending", "dead"),
        "cancel",
    )
