"""Forwarding through a real HTTP receiver that verifies every request with the
``standardwebhooks`` library: each event arrives once, signed; a receiver that fails a few times
gets the job retried until it is delivered; one that always fails sends it to dead-letter after
the configured attempts; several dispatchers never send the same job at the same time."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

import asyncpg
import pytest

from app.reactions import run_reactions
from app.settings import Settings
from projections import outbox
from projections.status import outbox_summary
from tests.support.log_writer import append_all
from tests.support.outbox import count_jobs, running_reactions, until, workflow_settings
from tests.support.scenarios import Delivery, stripe_event
from tests.support.webhook_receiver import Receiver, running_receiver

Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record]"

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_c2VjcmV0LWJlZm9yZS10aGUtcm90YXRpb24="

WORKFLOWS = """
[workflow.activate]
provider = "stripe"
event = "invoice.paid"
action = "forward"
url = "{url}"
secret_env = "ACTIVATE_SECRET"
"""


def paid(n: int) -> Delivery:
    at = datetime(2026, 1, 1, 0, n % 60, tzinfo=UTC)
    invoice = {"id": f"in_{n}", "customer": f"cus_{n}", "amount_paid": 900 + n, "status": "paid"}
    return stripe_event(f"evt_paid_{n}", "invoice.paid", at, invoice)


def other() -> Delivery:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return stripe_event("evt_other", "invoice.payment_failed", at, {"id": "in_x"})


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[Conn]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


def forward_settings(database_url: str, tmp_path: Path, url: str, **env: str) -> Settings:
    return workflow_settings(
        database_url,
        tmp_path,
        WORKFLOWS.format(url=url),
        ACTIVATE_SECRET=env.pop("ACTIVATE_SECRET", SECRET),
        **env,
    )


async def attempts_by_job(conn: Conn) -> dict[int, list[outbox.Attempt]]:
    jobs = await outbox.list_jobs(conn)
    return {job.id: await outbox.attempts_of(conn, job.id) for job in jobs}


async def test_each_forwarded_event_arrives_once_signed_with_its_idempotency_key(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    events = [paid(n) for n in range(8)]
    await append_all(database_url, [*events, other(), *events[:4]])  # providers retry
    # The receiver still knows only the secret from before a rotation: any signature verifies.
    receiver = Receiver(secret=OLD_SECRET)
    async with running_receiver(receiver) as url:
        settings = forward_settings(
            database_url, tmp_path, url, ACTIVATE_SECRET=f"{SECRET}, {OLD_SECRET}"
        )
        async with running_reactions(settings):
            await until(lambda: _count(conn, "delivered", 8))
            await asyncio.sleep(0.5)  # a few more dispatcher rounds: nothing else may be sent

    assert [r.status for r in receiver.received] == [200] * 8
    assert all(r.verified for r in receiver.received)
    jobs = {job.idempotency_key: job for job in await outbox.list_jobs(conn)}
    assert Counter(r.webhook_id for r in receiver.received) == Counter(dict.fromkeys(jobs, 1))
    bodies = {d.body for d in events}
    for r in receiver.received:
        assert r.idempotency_key == r.webhook_id
        assert r.body in bodies  # the event's bytes exactly as the provider sent them
        assert jobs[r.webhook_id].status == "delivered"
        assert jobs[r.webhook_id].attempts == 1
    assert len({r.body for r in receiver.received}) == 8
    assert receiver.overlaps == 0


async def test_a_failing_receiver_gets_the_job_retried_until_delivered(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    await append_all(database_url, [paid(n) for n in range(3)])
    receiver = Receiver(secret=SECRET, fail_first=2)
    async with running_receiver(receiver) as url:
        settings = forward_settings(database_url, tmp_path, url, OUTBOX_MAX_ATTEMPTS="5")
        async with running_reactions(settings):
            await until(lambda: _count(conn, "delivered", 3))

    assert Counter(receiver.seen.values()) == Counter({3: 3})
    assert all(r.verified for r in receiver.received)
    for job_id, attempts in (await attempts_by_job(conn)).items():
        assert [a.attempt for a in attempts] == [1, 2, 3], job_id
        assert [a.outcome for a in attempts] == ["retry", "retry", "delivered"]
        assert [a.error for a in attempts] == ["HTTP 500 Internal Server Error"] * 2 + [None]
        assert attempts[-1].detail == "HTTP 200"
        for earlier, later in itertools.pairwise(attempts):
            assert earlier.started_at <= earlier.finished_at <= later.started_at
        job = await outbox.get_job(conn, job_id)
        assert job is not None
        assert (job.status, job.attempts, job.last_error) == ("delivered", 3, None)
        assert job.delivered_at is not None


async def test_an_always_failing_receiver_sends_the_job_to_dead_letter(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    await append_all(database_url, [paid(1)])
    receiver = Receiver(secret=SECRET, always_fail=True)
    async with running_receiver(receiver) as url:
        settings = forward_settings(database_url, tmp_path, url, OUTBOX_MAX_ATTEMPTS="4")
        async with running_reactions(settings):
            await until(lambda: _count(conn, "dead", 1))
            await asyncio.sleep(0.5)  # a dead job is not attempted again
            summary = await outbox_summary(conn)

    assert len(receiver.received) == 4
    assert all(r.verified and r.status == 500 for r in receiver.received)
    [(job_id, attempts)] = (await attempts_by_job(conn)).items()
    assert [a.outcome for a in attempts] == ["retry", "retry", "retry", "dead"]
    assert all(a.error == "HTTP 500 Internal Server Error" for a in attempts)
    job = await outbox.get_job(conn, job_id)
    assert job is not None
    assert (job.status, job.attempts) == ("dead", 4)
    assert job.last_error == "HTTP 500 Internal Server Error"
    assert (summary.pending, summary.dead) == (0, 1)


@asynccontextmanager
async def dispatchers(settings: Settings, n: int) -> AsyncIterator[None]:
    """One reactor and ``n`` dispatchers, as ``n`` worker processes would run them."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(run_reactions(settings, stop, ["reactor"]))]
    tasks += [asyncio.create_task(run_reactions(settings, stop, ["dispatcher"])) for _ in range(n)]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)


async def test_several_dispatchers_never_send_a_job_twice(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    await append_all(database_url, [paid(n) for n in range(12)])
    receiver = Receiver(secret=SECRET, delay=0.1)  # slow: claims overlap in time
    async with running_receiver(receiver) as url:
        settings = forward_settings(database_url, tmp_path, url, OUTBOX_BATCH_SIZE="3")
        async with dispatchers(settings, 3):
            await until(lambda: _count(conn, "delivered", 12))

    assert len(receiver.received) == 12
    assert set(receiver.seen.values()) == {1}
    assert receiver.overlaps == 0
    assert await conn.fetchval("SELECT count(*) FROM hookledger_job_attempts") == 12


async def _count(conn: Conn, status: str, n: int) -> bool:
    return await count_jobs(conn, status) >= n
