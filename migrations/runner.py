"""Applies the numbered ``.sql`` files in this package, in order, each exactly once.

Invariants: each file runs in its own transaction together with the row that records it, so a
file is either fully applied and recorded or not at all; a session-level advisory lock makes
concurrent start-ups (several web workers, a worker and ``hookledger migrate``) take turns, so
applying twice is harmless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

_LOCK_KEY = 0x686F6F6B  # "hook": serialises migration runs across processes
Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    name: str
    sql: str


def available() -> list[Migration]:
    """Every migration shipped with the code, sorted by version."""
    found = []
    for entry in resources.files(__package__ or "migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(match.group(1), entry.name, entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)


async def applied_versions(conn: Conn) -> set[str]:
    exists = await conn.fetchval("SELECT to_regclass('hookledger_migrations') IS NOT NULL")
    if not exists:
        return set()
    rows = await conn.fetch("SELECT version FROM hookledger_migrations")
    return {r["version"] for r in rows}


async def pending(conn: Conn) -> list[Migration]:
    done = await applied_versions(conn)
    return [m for m in available() if m.version not in done]


async def migrate(conn: Conn) -> list[str]:
    """Apply what is missing; returns the file names applied now."""
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS hookledger_migrations ("
            " version text PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in await pending(conn):
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO hookledger_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            applied.append(migration.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied
