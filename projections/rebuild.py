"""Blue-green rebuilds and point-in-time builds of a projection from the log.

Rebuild: replay the whole log into a fresh generation while the live one keeps serving; when
caught up, one transaction locks the projection row (live steps wait), applies the last events,
repoints the public view and makes the new generation active; the old schema is then dropped.
As-of: replay only events whose provider time (else received time) is at or before a moment into
a separately named schema, leaving the live tables alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from domain.products import ProductCatalog
from projections.batch import active_schema, advance
from projections.db_types import Conn
from projections.generations import create_generation, point_views
from projections.log_reader import head
from projections.registry import SPECS
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


async def _replay(
    conn: Conn,
    projection: str,
    schema: str,
    catalog: ProductCatalog,
    batch_size: int,
    as_of: datetime | None,
    progress: ProgressCallback | None,
) -> int:
    spec = SPECS[projection]
    total = await head(conn)
    started, done = time.monotonic(), 0
    while True:
        async with conn.transaction():
            consumed = await advance(conn, spec, schema, catalog, batch_size, as_of)
        done += consumed
        if progress:
            progress(Progress(projection, done, max(total, done), time.monotonic() - started))
        if consumed == 0:
            return done


async def rebuild(
    conn: Conn,
    projection: str,
    catalog: ProductCatalog,
    batch_size: int = 5000,
    progress: ProgressCallback | None = None,
) -> str:
    """Rebuild ``projection`` and swap it in; returns the new live schema."""
    spec = SPECS[projection]
    generation = await conn.fetchval(
        "UPDATE hookledger_projections"
        " SET rebuilding_generation"
        "   = greatest(active_generation, coalesce(rebuilding_generation, 0)) + 1,"
        " rebuild_started_at = now() WHERE name = $1 RETURNING rebuilding_generation",
        projection,
    )
    new_schema = schema_name(projection, generation)
    async with conn.transaction():
        await create_generation(conn, projection, new_schema)
    await _replay(conn, projection, new_schema, catalog, batch_size, None, progress)
    async with conn.transaction():
        old_schema = await active_schema(conn, projection, lock=True)
        while await advance(conn, spec, new_schema, catalog, batch_size):
            pass
        await point_views(conn, projection, new_schema)
        await conn.execute(
            "UPDATE hookledger_projections SET active_generation = $2,"
            " rebuilding_generation = NULL, rebuild_started_at = NULL WHERE name = $1",
            projection,
            generation,
        )
    await conn.execute(f'DROP SCHEMA IF EXISTS "{old_schema}" CASCADE')
    await conn.execute(
        "DELETE FROM hookledger_checkpoints WHERE projection = $1 AND schema_name = $2",
        projection,
        old_schema,
    )
    return new_schema


def as_of_schema(projection: str, moment: datetime) -> str:
    return f"hl_{projection}_asof_{moment.strftime('%Y%m%dt%H%M%S')}"


async def build_as_of(
    conn: Conn,
    projection: str,
    moment: datetime,
    catalog: ProductCatalog,
    batch_size: int = 5000,
    progress: ProgressCallback | None = None,
) -> str:
    """Build ``projection`` as it stood at ``moment`` into its own schema; returns its name."""
    schema = as_of_schema(projection, moment)
    async with conn.transaction():
        await create_generation(conn, projection, schema)
    await _replay(conn, projection, schema, catalog, batch_size, moment, progress)
    return schema
