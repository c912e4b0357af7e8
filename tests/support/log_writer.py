"""Writes deliveries straight into the event log, skipping HTTP and signatures (the envelope still
comes from the provider's own ``parse``, the row from the intake's own ``build_event``). For tests
and benchmarks that need many events fast; the HTTP path has its own tests.

``append_all`` goes through the real group-commit appender; ``copy_events`` bulk-loads rows with
COPY for logs of millions of events (no lock or NOTIFY: only for a log nobody else writes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from app.appender import AppendOutcome, GroupCommitAppender, NewEvent, build_event
from domain.log_record import TOPIC
from domain.providers.base import Envelope, Verification
from domain.providers.registry import resolve
from tests.support.scenarios import Delivery

_UNSIGNED = Verification(scheme="test-direct", secret_index=0, skew_seconds=None)


def to_new_event(delivery: Delivery, received_at: datetime | None = None) -> NewEvent:
    provider = resolve(delivery.provider)
    assert provider is not None
    headers = {"x-event-name": delivery.event_type, "webhook-id": delivery.event_id}
    envelope = provider.parse(delivery.body, headers)
    assert isinstance(envelope, Envelope), delivery
    return build_event(
        provider=provider.name,
        envelope=envelope,
        verification=_UNSIGNED,
        body=delivery.body,
        headers_json="{}",
        received_at=received_at or datetime.now(UTC),
    )


COLUMNS = (
    "originator_id",
    "originator_version",
    "topic",
    "state",
    "provider",
    "event_id",
    "event_type",
    "occurred_at",
    "received_at",
    "body_offset",
    "headers",
    "signature_scheme",
    "signature_secret_index",
    "signature_skew_seconds",
)


async def copy_events(conn: asyncpg.Connection, events: Sequence[NewEvent]) -> None:
    """COPY ``events`` into the log in this order (positions follow it). Every event must be new:
    COPY fails on a duplicate key, it never skips one."""
    await conn.copy_records_to_table(
        "hookledger_events",
        columns=COLUMNS,
        records=[
            (
                e.originator_id,
                1,
                TOPIC,
                e.state,
                e.provider,
                e.event_id,
                e.event_type,
                e.occurred_at,
                e.received_at,
                e.body_offset,
                e.headers_json,
                e.scheme,
                e.secret_index,
                e.skew_seconds,
            )
            for e in events
        ],
    )


async def append_all(
    database_url: str, deliveries: Sequence[Delivery], concurrency: int = 256
) -> list[AppendOutcome]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    appender = GroupCommitAppender(pool, batch_max=1000, writers=2, timeout_seconds=120)
    await appender.start()
    try:
        outcomes: list[AppendOutcome] = []
        for start in range(0, len(deliveries), concurrency):
            chunk = deliveries[start : start + concurrency]
            outcomes += await asyncio.gather(*(appender.append(to_new_event(d)) for d in chunk))
        return outcomes
    finally:
        await appender.stop()
        await pool.close()
