"""Connection pools and the classification of database failures.

Every error that means "the database cannot take this now" maps to DatabaseUnavailable, which
the HTTP edge turns into 503 + Retry-After. A 2xx is only ever sent after a COMMIT returned.
"""

from __future__ import annotations

import asyncpg

from app.settings import Settings
from projections.transient import TRANSIENT_ERRORS

__all__ = ["TRANSIENT_ERRORS", "DatabaseUnavailable", "create_pool"]


class DatabaseUnavailable(Exception):
    """The database is unreachable, shutting down or failing; the caller should retry later."""


async def create_pool(settings: Settings, *, max_size: int | None = None) -> asyncpg.Pool:
    """A pool that opens connections lazily, so start-up and outages do not fail the process."""
    if not settings.database_url:
        raise ValueError("database_url is not set")
    pool = await asyncpg.create_pool(
        settings.database_url,
        min_size=0,
        max_size=max_size or settings.db_pool_size,
        timeout=settings.db_connect_timeout_seconds,
        command_timeout=settings.append_timeout_seconds,
        max_inactive_connection_lifetime=60.0,
    )
    assert pool is not None
    return pool
