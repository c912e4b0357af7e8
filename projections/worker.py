"""The live projection runner: one active runner per projection across all worker processes.

Election: a session-level PostgreSQL advisory lock per projection, held on the runner's own
connection; when that process dies its connection closes, the lock is released and a standby
takes over within one poll interval. Each step runs in one transaction that first locks the
projection's row (so a rebuild swap or a parked retry never interleaves with it), then moves rows
and checkpoint together. Wake-ups come from NOTIFY on the log's channel, with a poll fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import asyncpg

from domain.products import ProductCatalog
from projections.batch import active_schema, advance
from projections.catalogs import generation_catalog
from projections.db_types import Conn
from projections.registry import SPECS, ProjectionSpec
from projections.transient import is_transient

log = logging.getLogger("hookledger.worker")

LOCK_NAMESPACE = 0x686C  # first key of every projection's advisory lock
CHANNEL = "hookledger_events"


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    database_url: str
    catalog: ProductCatalog
    batch_size: int = 1000
    poll_seconds: float = 1.0
    connect_timeout: float = 5.0


async def _wait(event: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


Step = Callable[[Conn], Awaitable[int]]
"""One transaction of work on the elected connection; returns how many events it consumed."""


async def run_elected(
    name: str,
    lock_id: int,
    step: Step,
    config: WorkerConfig,
    stop: asyncio.Event,
    on_leader: Callable[[str], None] | None = None,
) -> None:
    """Run ``step`` repeatedly while elected for ``lock_id``, until ``stop`` is set: stand by
    until the lock is free, then follow the log (NOTIFY wake-ups, poll fallback)."""
    while not stop.is_set():
        conn: Conn | None = None
        try:
            conn = await asyncpg.connect(config.database_url, timeout=config.connect_timeout)
            if not await conn.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", LOCK_NAMESPACE, lock_id
            ):
                await _wait(asyncio.Event(), stop, config.poll_seconds)
                continue
            log.info("%s: active in this process", name)
            if on_leader:
                on_leader(name)
            await _follow(conn, step, config, stop)
        except Exception as exc:
            if not is_transient(exc):
                log.exception("%s: step failed; retrying", name)
            else:
                log.warning("%s: database unavailable (%s)", name, type(exc).__name__)
            await _wait(asyncio.Event(), stop, config.poll_seconds)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), 2)


async def _follow(conn: Conn, step: Step, config: WorkerConfig, stop: asyncio.Event) -> None:
    wake = asyncio.Event()
    await conn.add_listener(CHANNEL, lambda *_: wake.set())
    while not stop.is_set():
        wake.clear()  # a NOTIFY during the step sets it again: no wake-up is lost
        if await step(conn) < config.batch_size:
            await _wait(wake, stop, config.poll_seconds)


async def run_projection(
    spec: ProjectionSpec,
    config: WorkerConfig,
    stop: asyncio.Event,
    on_leader: Callable[[str], None] | None = None,
) -> None:
    """Run one projection's live steps while elected. Each generation is mapped with the
    catalogue recorded for it (``projections.catalogs``), never with two."""
    warned: set[str] = set()

    async def step(conn: Conn) -> int:
        async with conn.transaction():
            schema = await active_schema(conn, spec.name, lock=True)
            mapping = await generation_catalog(conn, spec.name, schema, config.catalog)
            if mapping.differs_from_own and schema not in warned:
                warned.add(schema)
                log.warning(
                    "projection %s: PRODUCTS_FILE differs from the product catalogue its live"
                    " generation (%s) was built with; it keeps that catalogue so that the live"
                    " model stays equal to a rebuild. Run `hookledger rebuild all` to re-map"
                    " the log with the file.",
                    spec.name,
                    schema,
                )
            return await advance(conn, spec, schema, mapping.catalog, config.batch_size)

    await run_elected(f"projection {spec.name}", spec.lock_id, step, config, stop, on_leader)


async def run_worker(config: WorkerConfig, stop: asyncio.Event, names: Iterable[str] = ()) -> None:
    selected = [SPECS[n] for n in names] if names else list(SPECS.values())
    await asyncio.gather(*(run_projection(spec, config, stop) for spec in selected))
