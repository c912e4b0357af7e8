"""Blue-green rebuilds and point-in-time builds of projections from the log.

Rebuild: replay the whole log into fresh generations while the live ones keep serving (the log is
read and mapped once for all projections being rebuilt); when caught up, one transaction locks the
projections' rows (live steps wait), applies the last events, repoints the public views and makes
the new generations active; the old schemas are then dropped.
As-of: replay only events whose provider time (else received time) is at or before a moment into
separately named schemas, leaving the live tables alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from domain.log_record import LoggedEvent
from domain.products import ProductCatalog
from projections.batch import (
    Mapped,
    active_schema,
    advance_many,
    apply_to_targets,
    checkpoints,
    map_events,
)
from projections.db_types import Conn
from projections.generations import create_generation, point_views
from projections.log_reader import count_after, read_after
from projections.registry import SPECS, ProjectionSpec
from projections.schema import schema_name


@dataclass(frozen=True, slots=True)
class Progress:
    projection: str
    done: int
    total: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def remaining_seconds(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None


ProgressCallback = Callable[[Progress], None]
Fetched = tuple[list[LoggedEvent], Mapped]


async def _replay(
    conn: Conn,
    targets: Sequence[tuple[str, str]],
    catalog: ProductCatalog,
    batch_size: int,
    as_of: datetime | None,
    progress: ProgressCallback | None,
    writers: Sequence[Conn] = (),
) -> int:
    """Replay the log into ``targets`` until caught up. With more connections (``writers``),
    the targets are spread over ``conn`` and them, and each batch is written on all of them at
    once; the last one then reads and maps the next batch. So Python folds one target while
    PostgreSQL writes the others. Each target's rows commit together with its own checkpoint,
    batch by batch, whichever connection writes them."""
    specs = [(SPECS[name], schema) for name, schema in targets]
    label = "+".join(name for name, _ in targets)
    async with conn.transaction():
        after = min(await checkpoints(conn, specs))
    total = await count_after(conn, after, as_of)
    started, done = time.monotonic(), 0

    def report() -> None:
        if progress:
            progress(Progress(label, done, max(total, done), time.monotonic() - started))

    async def write(on: Conn, share: Sequence[tuple[ProjectionSpec, str]], batch: Fetched) -> None:
        if share:
            async with on.transaction():
                positions = await checkpoints(on, share)
                await apply_to_targets(on, share, positions, *batch)

    async def write_then_fetch(
        on: Conn, share: Sequence[tuple[ProjectionSpec, str]], batch: Fetched
    ) -> Fetched:
        await write(on, share, batch)
        events = await read_after(on, batch[0][-1].position, batch_size, as_of)
        return events, map_events(events, catalog)

    if writers:
        connections = [conn, *writers][: max(2, len(specs))]
        reader = connections[-1]
        events = await read_after(reader, after, batch_size, as_of)
        batch: Fetched = (events, map_events(events, catalog))
        shares = [specs[i :: len(connections)] for i in range(len(connections))]
        while batch[0]:
            writes = [
                write(c, share, batch)
                for c, share in zip(connections[:-1], shares[:-1], strict=True)
            ]
            results = await asyncio.gather(write_then_fetch(reader, shares[-1], batch), *writes)
            done += len(batch[0])
            report()
            batch = cast(Fetched, results[0])
    while True:  # the tail (and everything, with one connection)
        async with conn.transaction():
            consumed = await advance_many(conn, specs, catalog, batch_size, as_of)
        done += consumed
        report()
        if consumed == 0:
            return done


async def rebuild(
    conn: Conn,
    projections: str | Sequence[str],
    catalog: ProductCatalog,
    batch_size: int = 5000,
    progress: ProgressCallback | None = None,
    writers: Sequence[Conn] = (),
) -> list[str]:
    """Rebuild ``projections`` and swap them in together; returns the new live schemas."""
    names = [projections] if isinstance(projections, str) else list(projections)
    targets = []
    for name in names:
        old_attempt = await conn.fetchval(
            "SELECT rebuilding_generation FROM hookledger_projections WHERE name = $1", name
        )
        if old_attempt is not None:  # an interrupted rebuild left its schema behind
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema_name(name, old_attempt)}" CASCADE')
        generation = await conn.fetchval(
            "UPDATE hookledger_projections"
            " SET rebuilding_generation"
            "   = greatest(active_generation, coalesce(rebuilding_generation, 0)) + 1,"
            " rebuild_started_at = now() WHERE name = $1 RETURNING rebuilding_generation",
            name,
        )
        schema = schema_name(name, generation)
        async with conn.transaction():
            await create_generation(conn, name, schema, catalog)
        targets.append((name, schema, generation))
    pairs = [(name, schema) for name, schema, _ in targets]
    await _replay(conn, pairs, catalog, batch_size, None, progress, writers)

    old_schemas = []
    async with conn.transaction():
        for name, _, _ in sorted(targets):  # fixed lock order: no deadlock between rebuilds
            old_schemas.append((name, await active_schema(conn, name, lock=True)))
        specs = [(SPECS[name], schema) for name, schema in pairs]
        while await advance_many(conn, specs, catalog, batch_size):
            pass
        for name, schema, generation in targets:
            await point_views(conn, name, schema)
            await conn.execute(
                "UPDATE hookledger_projections SET active_generation = $2,"
                " rebuilding_generation = NULL, rebuild_started_at = NULL WHERE name = $1",
                name,
                generation,
            )
    for name, old in old_schemas:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{old}" CASCADE')
        await conn.execute(
            "DELETE FROM hookledger_checkpoints WHERE projection = $1 AND schema_name = $2",
            name,
            old,
        )
    return [schema for _, schema in pairs]


def as_of_schema(projection: str, moment: datetime) -> str:
    return f"hl_{projection}_asof_{moment.strftime('%Y%m%dt%H%M%S')}"


async def build_as_of(
    conn: Conn,
    projection: str,
    moment: datetime,
    catalog: ProductCatalog,
    batch_size: int = 5000,
    progress: ProgressCallback | None = None,
    writers: Sequence[Conn] = (),
) -> str:
    """Build ``projection`` as it stood at ``moment`` into its own schema; returns its name."""
    schema = as_of_schema(projection, moment)
    async with conn.transaction():
        await create_generation(conn, projection, schema, catalog)
    await _replay(conn, [(projection, schema)], catalog, batch_size, moment, progress, writers)
    return schema
