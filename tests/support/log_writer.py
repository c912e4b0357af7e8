"""Writes deliveries straight into the event log through the real appender, skipping HTTP and
signatures (the envelope still comes from the provider's own ``parse``). For tests and benchmarks
that need many events fast; the HTTP path has its own tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from app.appender import AppendOutcome, GroupCommitAppender, NewEvent, build_event
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
