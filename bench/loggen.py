"""A realistic event log of a given size, written straight into a benchmark database.

The deliveries come from the test suite's scenarios (``tests.support.scenarios``: Stripe, Lemon
Squeezy, FramerAuth and Slack journeys of many customers, with renewals, failed payments,
cancellations, refunds and profile updates), reordered within small windows and partly
redelivered. Each delivery becomes its row with the intake's own ``build_event`` (via
``tests.support.log_writer``), so the rows are exactly what the HTTP intake stores; redeliveries of
an already stored (provider, event id) are dropped, as the intake's unique key drops them. Rows are
bulk-loaded with COPY, customer batch by customer batch, so memory stays flat at any size.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from app.bootstrap import prepare_database
from tests.support.log_writer import copy_events, to_new_event
from tests.support.scenarios import generate, shuffled_with_duplicates

CUSTOMERS_PER_CHUNK = 1000
REORDER_WINDOW = 64
"""Deliveries that may overtake each other (a few seconds of traffic at a busy receiver)."""
REDELIVERY_RATE = 0.05


@dataclass(slots=True)
class LogFacts:
    events: int = 0
    customers: int = 0
    redeliveries_dropped: int = 0
    providers: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def describe(self) -> str:
        mix = ", ".join(f"{p} {n / self.events:.0%}" for p, n in self.providers.most_common())
        return (
            f"{self.events:,} events for {self.customers:,} customers ({mix}); "
            f"reordered within windows of {REORDER_WINDOW}, {REDELIVERY_RATE:.0%} redelivered "
            f"({self.redeliveries_dropped:,} redeliveries dropped as duplicates, as the intake "
            f"does); generated and COPY-loaded in {self.seconds:.0f} s"
        )


async def _fill(url: str, size: int, seed: int) -> LogFacts:
    facts = LogFacts()
    started = time.monotonic()
    conn = await asyncpg.connect(url)
    try:
        await prepare_database(conn)
        seen: set[tuple[str, str]] = set()
        chunk_no = 0
        while facts.events < size:
            first = chunk_no * CUSTOMERS_PER_CHUNK
            deliveries = generate(CUSTOMERS_PER_CHUNK, seed=seed + chunk_no, first=first)
            arriving = shuffled_with_duplicates(
                deliveries, seed + chunk_no, REDELIVERY_RATE, window=REORDER_WINDOW
            )
            chunk_no += 1
            received_at = datetime.now(UTC)
            rows = []
            for delivery in arriving:
                event = to_new_event(delivery, received_at)
                key = (event.provider, event.event_id)
                if key in seen:
                    facts.redeliveries_dropped += 1
                    continue
                seen.add(key)
                rows.append(event)
                if facts.events + len(rows) == size:
                    break
            await copy_events(conn, rows)
            facts.events += len(rows)
            facts.providers.update(e.provider for e in rows)
            facts.customers = first + CUSTOMERS_PER_CHUNK
        await conn.execute("ANALYZE hookledger_events")
    finally:
        await conn.close()
    facts.seconds = time.monotonic() - started
    return facts


def fill(url: str, size: int, seed: int = 4) -> LogFacts:
    """Migrates the (empty) database at ``url`` and loads a log of exactly ``size`` events."""
    return asyncio.run(_fill(url, size, seed))
