"""Changing PRODUCTS_FILE: a live read model is never mapped with two catalogues, so it always
equals a rebuild of the log with the catalogue its generation records; the new file takes
effect through ``hookledger rebuild``, also for workers still running with the old one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TypeAlias

import asyncpg
import pytest

from domain.products import ProductCatalog
from projections import rebuild
from projections.schema import PROJECTIONS
from projections.worker import WorkerConfig, run_worker
from tests.support.log_writer import append_all
from tests.support.read_models import catalog, log_head, snapshots, wait_for_checkpoints
from tests.support.rebuild_check import rebuilt_snapshots
from tests.support.scenarios import Delivery, generate

Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record]"

UNMAPPED = ProductCatalog.empty()


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[Conn]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


def halves() -> tuple[list[Delivery], list[Delivery]]:
    deliveries = generate(40, seed=21)
    middle = len(deliveries) // 2
    return deliveries[:middle], deliveries[middle:]


async def product_keys(conn: Conn) -> set[str]:
    return {r[0] for r in await conn.fetch("SELECT DISTINCT product FROM product_access")}


async def recorded_catalogues(conn: Conn) -> int:
    return int(
        await conn.fetchval("SELECT count(*) FROM hookledger_checkpoints WHERE catalog IS NOT NULL")
    )


class Worker:
    """``hookledger worker``'s projections in this process, with a given PRODUCTS_FILE."""

    def __init__(self, database_url: str, cat: ProductCatalog) -> None:
        self.stop = asyncio.Event()
        config = WorkerConfig(database_url=database_url, catalog=cat, poll_seconds=0.1)
        self.task = asyncio.create_task(run_worker(config, self.stop))

    async def close(self) -> None:
        self.stop.set()
        await self.task


async def test_a_rebuild_with_a_new_file_takes_effect_for_a_worker_still_running_the_old_one(
    conn: Conn, database_url: str
) -> None:
    first, rest = halves()
    await append_all(database_url, first)
    old_worker = Worker(database_url, UNMAPPED)
    try:
        await wait_for_checkpoints(conn, await log_head(conn))
        assert "pro" not in await product_keys(conn)
        await rebuild.rebuild(conn, PROJECTIONS, catalog(), batch_size=100)
        await append_all(database_url, rest)  # projected live by the worker with the old file
        await wait_for_checkpoints(conn, await log_head(conn))
    finally:
        await old_worker.close()
    live = await snapshots(conn)
    assert live == await rebuilt_snapshots(conn, catalog())
    assert {"pro", "team"} <= await product_keys(conn)


async def test_a_restarted_worker_with_a_changed_file_keeps_the_recorded_catalogue_and_says_so(
    conn: Conn, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    first, rest = halves()
    await append_all(database_url, first)
    worker = Worker(database_url, catalog())
    try:
        await wait_for_checkpoints(conn, await log_head(conn))
    finally:
        await worker.close()
    caplog.set_level(logging.WARNING, logger="hookledger.worker")
    worker = Worker(database_url, UNMAPPED)  # PRODUCTS_FILE emptied, then a restart
    try:
        await append_all(database_url, rest)
        await wait_for_checkpoints(conn, await log_head(conn))
    finally:
        await worker.close()
    assert await snapshots(conn) == await rebuilt_snapshots(conn, catalog())
    warnings = [r.getMessage() for r in caplog.records if "PRODUCTS_FILE differs" in r.getMessage()]
    assert len(warnings) == len(PROJECTIONS)  # once per projection, not once per step
    assert all("hookledger rebuild all" in w for w in warnings)

    await rebuild.rebuild(conn, PROJECTIONS, UNMAPPED, batch_size=100)
    assert await snapshots(conn) == await rebuilt_snapshots(conn, UNMAPPED)
    assert "pro" not in await product_keys(conn)


async def test_a_generation_that_holds_no_event_yet_takes_the_workers_catalogue(
    conn: Conn, database_url: str
) -> None:
    worker = Worker(database_url, UNMAPPED)  # records the empty catalogue at position 0
    try:
        async with asyncio.timeout(30):
            while await recorded_catalogues(conn) < len(PROJECTIONS):  # noqa: ASYNC110 - polls the DB
                await asyncio.sleep(0.05)
    finally:
        await worker.close()
    first, rest = halves()
    worker = Worker(database_url, catalog())
    try:
        await append_all(database_url, first + rest)
        await wait_for_checkpoints(conn, await log_head(conn))
    finally:
        await worker.close()
    assert await snapshots(conn) == await rebuilt_snapshots(conn, catalog())
    assert {"pro", "team"} <= await product_keys(conn)
