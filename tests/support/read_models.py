"""Helpers for projection tests: catch up, wait on checkpoints (never sleep blindly), snapshot."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg

from domain.products import ProductCatalog, parse_catalog
from projections.batch import active_schema, advance
from projections.db_types import Conn
from projections.registry import SPECS
from projections.schema import PROJECTIONS, PUBLIC_COLUMNS

CATALOG_TOML = """
[stripe]
price_pro_m = "pro"
prod_team = "team"
[lemonsqueezy]
"4521" = "course"
"""


def catalog() -> ProductCatalog:
    return parse_catalog(CATALOG_TOML)


async def catch_up(conn: Conn, cat: ProductCatalog, batch_size: int = 500) -> None:
    """Run every projection's live steps in this process until none has anything left."""
    for spec in SPECS.values():
        while True:
            async with conn.transaction():
                schema = await active_schema(conn, spec.name, lock=True)
                if not await advance(conn, spec, schema, cat, batch_size):
                    break


async def wait_for_checkpoints(conn: Conn, position: int, timeout: float = 30.0) -> None:
    """Until every live projection's checkpoint has reached ``position``."""
    deadline = time.monotonic() + timeout
    while True:
        lowest = await conn.fetchval(
            "SELECT min(c.position) FROM hookledger_projections p"
            " JOIN hookledger_checkpoints c ON c.projection = p.name"
            " AND c.schema_name = 'hl_' || p.name || '_g' || p.active_generation"
        )
        if lowest is not None and lowest >= position:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"checkpoints at {lowest}, wanted {position}")
        await asyncio.sleep(0.05)


async def log_head(conn: Conn) -> int:
    return int(
        await conn.fetchval("SELECT coalesce(max(notification_id), 0) FROM hookledger_events")
    )


async def snapshot(conn: Conn, projection: str, schema: str | None = None) -> list[tuple[Any, ...]]:
    """Every row of a read model (the public view, or a given schema's table), sorted."""
    source = f'"{schema}".{projection}' if schema else f"public.{projection}"
    rows = await conn.fetch(f"SELECT {PUBLIC_COLUMNS[projection]} FROM {source}")
    return sorted(tuple(r) for r in rows)


async def snapshots(conn: Conn) -> dict[str, list[tuple[Any, ...]]]:
    return {p: await snapshot(conn, p) for p in PROJECTIONS}


async def connect(url: str) -> asyncpg.Connection[asyncpg.Record]:
    return await asyncpg.connect(url)
