"""Read-only checks on what a test run left in hookledger_events."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class LogContents:
    rows: int
    distinct_keys: int
    keys: frozenset[tuple[str, str]]
    """Every stored (provider, event_id)."""


async def count_events(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM hookledger_events"))
    finally:
        await conn.close()


async def log_contents(database_url: str) -> LogContents:
    """Row count, distinct (provider, event_id) count and every stored key."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = int(await conn.fetchval("SELECT count(*) FROM hookledger_events"))
        keys = await conn.fetch("SELECT provider, event_id FROM hookledger_events")
    finally:
        await conn.close()
    found = frozenset((r["provider"], r["event_id"]) for r in keys)
    return LogContents(rows, len(found), found)
