"""Read-only checks on what a test run left in hookledger_events."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class LogContents:
    rows: int
    distinct_keys: int
    event_ids: frozenset[str]


async def count_events(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM hookledger_events"))
    finally:
        await conn.close()


async def log_contents(database_url: str, provider: str = "stripe") -> LogContents:
    """Row count, distinct (provider, event_id) count and the event ids of one provider."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = int(await conn.fetchval("SELECT count(*) FROM hookledger_events"))
        distinct = int(
            await conn.fetchval(
                "SELECT count(*) FROM (SELECT DISTINCT provider, event_id FROM hookledger_events) k"
            )
        )
        ids = await conn.fetch(
            "SELECT event_id FROM hookledger_events WHERE provider = $1", provider
        )
    finally:
        await conn.close()
    return LogContents(rows, distinct, frozenset(r["event_id"] for r in ids))
