"""The log's guarantees, checked against a real PostgreSQL: once per key, gap-safe order,
append-only, readable by the eventsourcing library, migrations idempotent."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import cast
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from eventsourcing.application import Application

from app.appender import GroupCommitAppender, NewEvent
from domain.log_record import WebhookReceived, encode_state, originator_id
from migrations.runner import available, migrate
from tests.support import signing


def make_event(provider: str, event_id: str, body: bytes | None = None) -> NewEvent:
    body = body or json.dumps({"id": event_id, "type": "t", "n": 1}).encode()
    received = datetime.now(UTC)
    state, offset = encode_state(
        provider=provider,
        event_id=event_id,
        event_type="t",
        occurred_at=None,
        received_at=received,
        body=body,
    )
    return NewEvent(
        originator_id=originator_id(provider, event_id),
        state=state,
        provider=provider,
        event_id=event_id,
        event_type="t",
        occurred_at=None,
        received_at=received,
        body_offset=offset,
        headers_json="{}",
        scheme="test",
        secret_index=0,
        skew_seconds=None,
    )


async def test_same_delivery_fifty_times_concurrently_is_stored_once(
    client: httpx.AsyncClient, database_url: str
) -> None:
    body = json.dumps({"id": "evt_storm", "type": "invoice.paid", "created": 1}).encode()
    headers = signing.stripe_headers(body)
    responses = await asyncio.gather(
        *(client.post("/webhooks/stripe", content=body, headers=headers) for _ in range(50))
    )
    assert [r.status_code for r in responses] == [200] * 50
    statuses = sorted(r.json()["status"] for r in responses)
    assert statuses == ["accepted"] + ["duplicate"] * 49
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM hookledger_events") == 1
    finally:
        await conn.close()
    metrics = (await client.get("/metrics")).text
    assert 'hookledger_duplicate_total{provider="stripe"} 49' in metrics


async def test_tailing_reader_never_skips_with_concurrent_writers(database_url: str) -> None:
    """Several appenders on separate pools (as several processes would be) write while a reader
    follows 'position > last seen'; it must see every committed event exactly once."""
    writers, per_writer = 4, 150
    pools = [
        await asyncpg.create_pool(database_url, min_size=1, max_size=3) for _ in range(writers)
    ]
    appenders = [
        GroupCommitAppender(pool, batch_max=7, writers=2, timeout_seconds=30) for pool in pools
    ]
    for appender in appenders:
        await appender.start()
    seen: list[int] = []
    done = asyncio.Event()

    async def tail() -> None:
        conn = await asyncpg.connect(database_url)
        last = 0
        try:
            while True:
                finished = done.is_set()
                rows = await conn.fetch(
                    "SELECT notification_id FROM hookledger_events"
                    " WHERE notification_id > $1 ORDER BY notification_id LIMIT 50",
                    last,
                )
                for row in rows:
                    seen.append(row[0])
                    last = row[0]
                if finished and not rows:
                    return
                await asyncio.sleep(0)
        finally:
            await conn.close()

    async def write(index: int) -> list[int]:
        results = await asyncio.gather(
            *(
                appenders[index].append(make_event("stripe", f"evt_{index}_{n}"))
                for n in range(per_writer)
            )
        )
        return [r.position for r in results if r.position is not None]

    reader = asyncio.create_task(tail())
    written = await asyncio.gather(*(write(i) for i in range(writers)))
    done.set()
    await reader
    for appender in appenders:
        await appender.stop()
    for pool in pools:
        await pool.close()
    committed = sorted(p for positions in written for p in positions)
    assert len(committed) == writers * per_writer
    assert seen == sorted(seen)
    assert sorted(seen) == committed


async def test_duplicates_inside_one_batch_and_against_the_log(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    appender = GroupCommitAppender(pool, batch_max=100, writers=1, timeout_seconds=30)
    await appender.start()
    try:
        first = await appender.append(make_event("stripe", "evt_a"))
        results = await asyncio.gather(
            appender.append(make_event("stripe", "evt_a")),
            appender.append(make_event("stripe", "evt_b")),
            appender.append(make_event("stripe", "evt_b")),
            appender.append(make_event("slack", "evt_a")),  # same id, other provider: distinct
        )
    finally:
        await appender.stop()
        await pool.close()
    assert first.status == "accepted"
    assert [r.status for r in results] == ["duplicate", "accepted", "duplicate", "accepted"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE hookledger_events SET event_type = 'forged'",
        "DELETE FROM hookledger_events",
        "TRUNCATE hookledger_events",
    ],
)
async def test_the_log_refuses_update_delete_truncate(database_url: str, statement: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    appender = GroupCommitAppender(pool, batch_max=10, writers=1, timeout_seconds=30)
    await appender.start()
    await appender.append(make_event("stripe", "evt_keep"))
    await appender.stop()
    await pool.close()
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(statement)
        assert await conn.fetchval("SELECT event_type FROM hookledger_events") == "t"
    finally:
        await conn.close()


def _library_env(database_url: str) -> dict[str, str]:
    parts = urlsplit(database_url)
    socket_dir = parse_qs(parts.query).get("host", [None])[0]
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": socket_dir or parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "",
        "CREATE_TABLE": "n",
    }


class HookLedger(Application[uuid.UUID]):
    """The library's own Application, opened on the table the service writes."""


async def test_eventsourcing_library_reads_what_the_service_wrote(
    client: httpx.AsyncClient, database_url: str
) -> None:
    bodies = [
        json.dumps(
            {
                "id": f"evt_lib_{n}",
                "type": "customer.updated",
                "created": 1_764_000_000 + n,
                "data": {"object": {"id": "cus_1", "name": "Zoë ☃"}},
            }
        ).encode()
        for n in range(3)
    ]
    for body in bodies:
        response = await client.post(
            "/webhooks/stripe", content=body, headers=signing.stripe_headers(body)
        )
        assert response.json()["status"] == "accepted"

    def read_with_library() -> list[WebhookReceived]:
        app = HookLedger(env=_library_env(database_url))
        try:
            notifications = app.notification_log.select(start=1, limit=10)
            return [cast(WebhookReceived, app.mapper.to_domain_event(n)) for n in notifications]
        finally:
            app.close()

    events = await asyncio.to_thread(read_with_library)
    assert [type(e) for e in events] == [WebhookReceived] * 3
    assert [e.event_id for e in events] == ["evt_lib_0", "evt_lib_1", "evt_lib_2"]
    assert [e.payload for e in events] == [json.loads(b) for b in bodies]
    assert all(e.provider == "stripe" and e.originator_version == 1 for e in events)
    assert events[0].originator_id == originator_id("stripe", "evt_lib_0")
    assert events[1].occurred_at == datetime.fromtimestamp(1_764_000_001, UTC)
    assert events[0].timestamp.tzinfo is not None


async def test_migrations_apply_once_and_twice_is_harmless(empty_database_url: str) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        first = await migrate(conn)
        second = await migrate(conn)
        recorded = await conn.fetchval("SELECT count(*) FROM hookledger_migrations")
    finally:
        await conn.close()
    assert first == [m.name for m in available()]
    assert second == []
    assert recorded == len(available())


async def test_concurrent_migrations_take_turns(empty_database_url: str) -> None:
    conns = [await asyncpg.connect(empty_database_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
    finally:
        for c in conns:
            await c.close()
    assert sorted(len(r) for r in results) == [0, 0, len(available())]
