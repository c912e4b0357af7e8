"""Operating projections for real: poison events, rebuilds under load, point-in-time builds,
standby takeover, SIGKILLed workers, and the operator commands."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeAlias

import asyncpg
import pytest

from projections import parked, rebuild
from projections.registry import SPECS
from projections.schema import PROJECTIONS
from projections.worker import WorkerConfig, run_projection, run_worker
from tests.support.log_writer import append_all
from tests.support.read_models import (
    CATALOG_TOML,
    catalog,
    catch_up,
    log_head,
    snapshot,
    snapshots,
    wait_for_checkpoints,
)
from tests.support.rebuild_check import rebuilt_snapshots
from tests.support.scenarios import Delivery, generate, stripe_event, stripe_subscription

Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record]"


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[Conn]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


def poison() -> list[Delivery]:
    bad = stripe_subscription(
        "sub_bad",
        "cus_bad",
        "no_such_status",
        "price_x",
        "prod_x",
        datetime(2026, 5, 1, tzinfo=UTC),
    )
    return [
        stripe_event(
            "evt_poison", "customer.subscription.updated", datetime(2026, 4, 1, tzinfo=UTC), bad
        )
    ]


async def test_a_poison_event_is_parked_and_the_rest_flows(conn: Conn, database_url: str) -> None:
    deliveries = generate(5, seed=3)
    mixed = deliveries[:20] + poison() + deliveries[20:]
    await append_all(database_url, mixed)
    await catch_up(conn, catalog())
    items = await parked.list_parked(conn)
    assert {p.projection for p in items} == set(PROJECTIONS)
    assert all(p.event_id == "evt_poison" and "no_such_status" in p.error for p in items)
    # Everything else was projected: the models equal a build of the log without the poison.
    assert await snapshots(conn) == await rebuilt_snapshots(conn)
    statuses = {r["projection"]: r for r in await conn.fetch("SELECT * FROM hookledger_parked")}
    assert len(statuses) == 3

    # Retrying still fails (the data is bad): it stays parked with its error refreshed.
    first = items[0]
    assert await parked.retry_parked(conn, first.id, catalog()) is False
    assert (await parked.list_parked(conn))[0].status == "parked"
    # Skipping keeps it for the record but out of the parked list.
    await parked.skip_parked(conn, first.id)
    assert first.id not in {p.id for p in await parked.list_parked(conn)}
    assert first.id in {p.id for p in await parked.list_parked(conn, include_resolved=True)}
    with pytest.raises(LookupError):
        await parked.skip_parked(conn, first.id)


async def test_retrying_a_parked_event_applies_it(conn: Conn, database_url: str) -> None:
    deliveries = generate(3, seed=4)
    await append_all(database_url, deliveries)
    await catch_up(conn, catalog())
    before = await snapshot(conn, "subscriptions")
    # Park an event by hand as if it had failed once, and undo its effect by rebuilding without it.
    victim = await conn.fetchrow(
        "SELECT notification_id, provider, event_id, event_type FROM hookledger_events"
        " WHERE event_type = 'customer.subscription.created' ORDER BY notification_id LIMIT 1"
    )
    assert victim is not None
    parked_id = await conn.fetchval(
        "INSERT INTO hookledger_parked"
        " (projection, position, provider, event_id, event_type, error)"
        " VALUES ('subscriptions', $1, $2, $3, $4, 'simulated') RETURNING id",
        *victim,
    )
    assert await parked.retry_parked(conn, parked_id, catalog()) is True
    assert await snapshot(conn, "subscriptions") == before  # applying again changed nothing
    assert await parked.list_parked(conn) == []


@pytest.mark.parametrize("connections", [1, 2, 3])
async def test_rebuild_while_events_keep_arriving_loses_nothing(
    conn: Conn, database_url: str, connections: int
) -> None:
    deliveries = generate(120, seed=8)
    first, rest = deliveries[:1000], deliveries[1000:]
    await append_all(database_url, first)
    stop = asyncio.Event()
    config = WorkerConfig(database_url=database_url, catalog=catalog(), poll_seconds=0.1)
    worker = asyncio.create_task(run_worker(config, stop))

    async def keep_writing() -> None:
        for i in range(0, len(rest), 50):
            await append_all(database_url, rest[i : i + 50])
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_writing())
    rebuilder = await asyncpg.connect(database_url)
    writers = [await asyncpg.connect(database_url) for _ in range(connections - 1)]
    try:
        schemas = await rebuild.rebuild(
            rebuilder, PROJECTIONS, catalog(), batch_size=200, writers=writers
        )
        assert [s[-3:] for s in schemas] == ["_g2"] * 3
        await writer
        await wait_for_checkpoints(conn, await log_head(conn))
    finally:
        stop.set()
        await worker
        await rebuilder.close()
        for extra in writers:
            await extra.close()
    assert await snapshots(conn) == await rebuilt_snapshots(conn)
    gens = await conn.fetch(
        "SELECT active_generation, rebuilding_generation FROM hookledger_projections"
    )
    assert [tuple(g) for g in gens] == [(2, None)] * 3
    leftovers = await conn.fetchval(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'hl\\_%\\_g1'"
    )
    assert leftovers == 0


async def test_rebuild_progress_counts_events_not_positions(conn: Conn, database_url: str) -> None:
    deliveries = generate(10, seed=5)
    await append_all(database_url, deliveries[:50])
    await append_all(database_url, deliveries[:50])  # redeliveries use up positions: gaps
    await append_all(database_url, deliveries[50:])
    events = await conn.fetchval("SELECT count(*) FROM hookledger_events")
    assert await log_head(conn) > events
    seen: list[rebuild.Progress] = []
    await rebuild.rebuild(conn, PROJECTIONS, catalog(), batch_size=40, progress=seen.append)
    assert seen[-1].done == seen[-1].total == events
    assert all(p.done <= p.total for p in seen)


async def test_as_of_build_shows_the_past_and_leaves_live_tables_alone(
    conn: Conn, database_url: str
) -> None:
    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    end = t0 + timedelta(days=30)
    events = [
        stripe_event(
            "evt_h1",
            "customer.subscription.created",
            t0,
            stripe_subscription("sub_h", "cus_h", "active", "price_pro_m", "prod_pro", end),
        ),
        stripe_event(
            "evt_h2",
            "customer.subscription.deleted",
            t0 + timedelta(days=10),
            stripe_subscription("sub_h", "cus_h", "canceled", "price_pro_m", "prod_pro", end),
        ),
    ]
    await append_all(database_url, events)
    await catch_up(conn, catalog())
    live_before = await snapshots(conn)
    schema = await rebuild.build_as_of(conn, "subscriptions", t0 + timedelta(days=5), catalog())
    past = await conn.fetch(f'SELECT status FROM "{schema}".subscriptions')
    assert [r["status"] for r in past] == ["active"]
    assert [r[4] for r in await snapshot(conn, "subscriptions")] == ["canceled"]
    assert await snapshots(conn) == live_before


async def test_one_active_runner_per_projection_and_the_standby_takes_over(
    conn: Conn, database_url: str
) -> None:
    spec = SPECS["subscriptions"]
    config = WorkerConfig(database_url=database_url, catalog=catalog(), poll_seconds=0.1)
    leaders: list[str] = []
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(run_projection(spec, config, stop_a, lambda _: leaders.append("a")))
    await _until(lambda: leaders == ["a"])
    b = asyncio.create_task(run_projection(spec, config, stop_b, lambda _: leaders.append("b")))
    await append_all(database_url, generate(10, seed=2))
    await _until(lambda: False, timeout=0.5, allow_timeout=True)
    assert leaders == ["a"]  # b stands by while a holds the lock
    stop_a.set()
    await a
    await _until(lambda: leaders == ["a", "b"])
    await append_all(database_url, generate(12, seed=2)[-30:])
    head = await log_head(conn)
    await _until_async(lambda: _checkpoint(conn, "subscriptions"), head)
    stop_b.set()
    await b


async def _checkpoint(conn: Conn, projection: str) -> int:
    return int(
        await conn.fetchval(
            "SELECT c.position FROM hookledger_checkpoints c JOIN hookledger_projections p"
            " ON p.name = c.projection"
            " AND c.schema_name = 'hl_' || p.name || '_g' || p.active_generation"
            " WHERE p.name = $1",
            projection,
        )
    )


async def _until(cond: object, timeout: float = 10.0, allow_timeout: bool = False) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            if allow_timeout:
                return
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


async def _until_async(get: object, target: int, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await get() < target:  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("checkpoint not reached")
        await asyncio.sleep(0.02)


def _worker_process(database_url: str, env_extra: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, **env_extra}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def test_workers_killed_mid_batch_end_equal_to_a_rebuild(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    products = str(tmp_path / "products.toml")
    (tmp_path / "products.toml").write_text(CATALOG_TOML)
    await append_all(database_url, generate(900, seed=21))
    head = await log_head(conn)
    env = {"WORKER_BATCH_SIZE": "40", "PRODUCTS_FILE": products, "WORKER_POLL_SECONDS": "0.1"}
    rng = random.Random(1)
    kills = 0
    while kills < 3:
        proc = _worker_process(database_url, env)
        await asyncio.sleep(rng.uniform(0.7, 1.2))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
    proc = _worker_process(database_url, env)
    try:
        await wait_for_checkpoints(conn, head, timeout=120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert await conn.fetchval("SELECT count(*) FROM hookledger_parked") == 0
    assert await snapshots(conn) == await rebuilt_snapshots(conn)


def test_operator_commands(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    cli = [sys.executable, "-m", "app.cli"]
    status = subprocess.run([*cli, "status"], env=env, capture_output=True, text=True, check=True)
    assert "subscriptions" in status.stdout
    assert "lag" in status.stdout
    rebuilt = subprocess.run(
        [*cli, "rebuild", "all"], env=env, capture_output=True, text=True, check=True
    )
    assert rebuilt.stdout.count("rebuilt and swapped in") == 3
    assert "ev/s" in rebuilt.stderr
    listed = subprocess.run(
        [*cli, "parked", "list"], env=env, capture_output=True, text=True, check=True
    )
    assert listed.stdout.startswith("no parked events")
    missing = subprocess.run(
        [*cli, "parked", "skip", "999"], env=env, capture_output=True, text=True
    )
    assert missing.returncode == 1
    assert "no parked event" in missing.stderr
