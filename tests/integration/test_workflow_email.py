"""Welcome emails through a real SMTP server: exactly one per paid ``order_created`` across
duplicate deliveries, a reactor crash mid-batch and a read-model rebuild."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

import asyncpg
import pytest

from domain.workflows import WorkflowSet
from projections import rebuild
from projections.db_types import Conn as DbConn
from projections.reactor import REACTOR_LOCK_ID, ensure_checkpoint, react
from projections.schema import PROJECTIONS
from projections.worker import WorkerConfig, run_elected
from tests.support.log_writer import append_all
from tests.support.outbox import (
    count_jobs,
    reactor_position,
    running_reactions,
    until,
    workflow_settings,
)
from tests.support.read_models import catalog, catch_up, log_head
from tests.support.scenarios import Delivery, ls_event, stripe_event
from tests.support.smtp_sink import Inbox, smtp_sink

Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record]"

WORKFLOWS = """
[workflow.welcome_buyer]
provider = "lemonsqueezy"
event = "order_created"
when = 'data.attributes.status = "paid"'
action = "email"
to = "${data.attributes.user_email}"
subject = "Welcome, ${data.attributes.user_name}!"
body = '''
Hello ${data.attributes.user_name},
thank you for order ${data.attributes.identifier} (${data.attributes.total_formatted}).
'''
"""


def order(n: int, status: str = "paid") -> Delivery:
    return ls_event(
        "order_created",
        "orders",
        str(9000 + n),
        {
            "user_email": f"buyer{n}@example.com",
            "user_name": f"Buyer {n}",
            "identifier": f"ord-{n}",
            "status": status,
            "total_formatted": f"${n}.00",
            "first_order_item": {"product_id": 4500, "variant_id": 4521},
            "created_at": "2026-01-01T00:00:00.000000Z",
            "updated_at": f"2026-01-01T00:{n % 60:02d}:00.000000Z",
        },
    )


def noise() -> list[Delivery]:
    refund = ls_event("order_refunded", "orders", "9001", {"user_email": "buyer1@example.com"})
    customer = stripe_event(
        "evt_noise", "customer.created", _at(), {"id": "cus_1", "email": "x@example.com"}
    )
    return [refund, customer, order(99, status="pending")]


def _at() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[Conn]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def crash_the_reactor_mid_batch(
    conn: Conn, database_url: str, workflows: WorkflowSet, batch_size: int
) -> int:
    """Run the real reactor step under the real election until its third batch has inserted its
    jobs, then kill its database session before COMMIT (as a crashed process would). Returns the
    jobs that were committed before the crash."""
    hung, stop, steps, pid = asyncio.Event(), asyncio.Event(), 0, 0

    async def step(c: DbConn) -> int:
        nonlocal steps, pid
        await ensure_checkpoint(c, "earliest")
        async with c.transaction():
            consumed = await react(c, workflows, batch_size)
            steps += 1
            if steps == 3:
                pid = c.get_server_pid()
                hung.set()
                # Killed in here: this batch's jobs are inserted, not committed.
                await c.execute("SELECT pg_sleep(600)")
        return consumed

    config = WorkerConfig(database_url=database_url, catalog=catalog(), poll_seconds=0.1)
    task = asyncio.create_task(run_elected("reactor", REACTOR_LOCK_ID, step, config, stop))
    await asyncio.wait_for(hung.wait(), 10)
    stop.set()  # the crashed "process" does not come back; the next reactor takes over
    assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    await asyncio.wait_for(task, 10)
    return await count_jobs(conn)


async def test_one_welcome_email_per_order_across_duplicates_crash_and_rebuild(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    orders = [order(n) for n in range(30)]
    # Providers retry: the same deliveries arrive twice, some a third time later.
    await append_all(database_url, orders + noise() + orders[:10])
    await append_all(database_url, orders[:5])
    assert await conn.fetchval("SELECT count(*) FROM hookledger_events") == 33

    with smtp_sink() as (port, inbox):
        settings = workflow_settings(
            database_url,
            tmp_path,
            WORKFLOWS,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(port),
            SMTP_FROM="Shop <shop@example.com>",
            WORKER_BATCH_SIZE="5",
        )
        assert settings.workflows is not None
        committed = await crash_the_reactor_mid_batch(conn, database_url, settings.workflows, 5)
        assert committed < 30
        assert await reactor_position(conn) == 10  # two batches committed, the third lost
        assert inbox.snapshot() == []

        async with running_reactions(settings):
            head = await log_head(conn)
            await until(lambda: _reactor_at(conn, head))
            await until(lambda: _delivered(conn, 30))
            await until(lambda: _received(inbox, 30))
            await append_all(database_url, orders[:3])  # yet another retry: nothing new
            for name in PROJECTIONS:  # rebuilding read models never re-runs reactions
                await rebuild.rebuild(conn, name, catalog())
            await catch_up(conn, catalog())
            await append_all(database_url, [order(30)])  # the reactor still follows the log
            await until(lambda: _received(inbox, 31))
            await asyncio.sleep(0.3)  # a few more dispatcher rounds: nothing else may arrive

        messages = inbox.snapshot()
        assert len(messages) == 31
        assert await count_jobs(conn) == 31
        assert await count_jobs(conn, "delivered") == 31
        by_recipient = Counter(rcpt for rcpts, _ in messages for rcpt in rcpts)
        assert by_recipient == Counter({f"buyer{n}@example.com": 1 for n in range(31)})
        for rcpts, message in messages:
            n = int(rcpts[0].removeprefix("buyer").removesuffix("@example.com"))
            assert message["To"] == f"buyer{n}@example.com"
            assert message["From"] == "Shop <shop@example.com>"
            assert message["Subject"] == f"Welcome, Buyer {n}!"
            body = message.get_content()
            assert f"Hello Buyer {n}," in body
            assert f"thank you for order ord-{n} (${n}.00)." in body
            assert message["Message-ID"].endswith("@example.com>")
        assert len({m["Message-ID"] for _, m in messages}) == 31
        attempts = await conn.fetchval("SELECT count(*) FROM hookledger_job_attempts")
        assert attempts == 31


async def _reactor_at(conn: Conn, position: int) -> bool:
    return (await reactor_position(conn) or 0) >= position


async def _delivered(conn: Conn, n: int) -> bool:
    return await count_jobs(conn, "delivered") >= n


async def _received(inbox: Inbox, n: int) -> bool:
    return len(inbox.snapshot()) >= n
