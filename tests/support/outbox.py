"""Helpers for workflow tests: settings from a workflow text, running the reactor and
dispatcher in-process, waiting on database conditions (never sleeping blindly)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from app.reactions import run_reactions
from app.settings import Settings
from domain.workflows import WorkflowSet
from projections.db_types import Conn
from projections.reactor import REACTOR, ensure_checkpoint, react

FAST = {
    "OUTBOX_BACKOFF_BASE_SECONDS": "0.01",
    "OUTBOX_BACKOFF_MAX_SECONDS": "0.05",
    "OUTBOX_POLL_SECONDS": "0.2",
    "WORKER_POLL_SECONDS": "0.1",
    "OUTBOX_TIMEOUT_SECONDS": "5",
    "REACTOR_START": "earliest",
}


def workflow_settings(database_url: str, tmp_path: Path, text: str, **env: str) -> Settings:
    path = tmp_path / "workflows.toml"
    path.write_text(text)
    return Settings.from_env(
        {"DATABASE_URL": database_url, "WORKFLOWS_FILE": str(path), **FAST, **env}
    )


@asynccontextmanager
async def running_reactions(settings: Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_reactions(settings, stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


async def react_all(conn: Conn, workflows: WorkflowSet, batch_size: int = 100) -> int:
    """Run reactor steps in this process until the log is consumed; returns events consumed."""
    await ensure_checkpoint(conn, "earliest")
    total = 0
    while True:
        async with conn.transaction():
            consumed = await react(conn, workflows, batch_size)
        if not consumed:
            return total
        total += consumed


async def reactor_position(conn: Conn) -> int | None:
    value = await conn.fetchval(
        "SELECT position FROM hookledger_checkpoints WHERE projection = $1 AND schema_name = $1",
        REACTOR,
    )
    return None if value is None else int(value)


async def count_jobs(conn: Conn, status: str | None = None) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM hookledger_jobs WHERE $1::text IS NULL OR status = $1", status
        )
    )
