""" "Read models equal a rebuild from scratch": the live read models next to every projection built
again from the whole log into side schemas (live tables untouched), and the parked count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from domain.products import ProductCatalog
from projections import rebuild
from projections.db_types import Conn
from projections.schema import PROJECTIONS
from tests.support.read_models import catalog, log_head, snapshot, snapshots

_EVERYTHING = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RebuildCheck:
    head: int
    lowest_checkpoint: int
    parked: int
    rows: dict[str, int]
    """Rows per live read model."""
    differing: list[str]
    """Read models whose live rows differ from the rebuild."""

    def violations(self) -> list[str]:
        found = []
        if self.lowest_checkpoint < self.head:
            found.append(f"checkpoints at {self.lowest_checkpoint}, log head {self.head}")
        if self.parked:
            found.append(f"{self.parked} events parked")
        if self.differing:
            found.append(f"read models differ from a rebuild: {', '.join(self.differing)}")
        return found


async def rebuilt_snapshots(
    conn: Conn, cat: ProductCatalog | None = None
) -> dict[str, list[tuple[object, ...]]]:
    """Every read model built from scratch with ``cat`` (default: the tests' catalogue) into
    side schemas, which are dropped again; live tables untouched."""
    out = {}
    for name in PROJECTIONS:
        schema = await rebuild.build_as_of(conn, name, _EVERYTHING, cat or catalog())
        out[name] = await snapshot(conn, name, schema)
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


async def compare_with_rebuild(database_url: str) -> RebuildCheck:
    conn = await asyncpg.connect(database_url)
    try:
        live = await snapshots(conn)
        rebuilt = await rebuilt_snapshots(conn)
        differing = [name for name in PROJECTIONS if rebuilt[name] != live[name]]
        lowest = await conn.fetchval(
            "SELECT min(c.position) FROM hookledger_projections p"
            " JOIN hookledger_checkpoints c ON c.projection = p.name"
            " AND c.schema_name = 'hl_' || p.name || '_g' || p.active_generation"
        )
        parked = await conn.fetchval("SELECT count(*) FROM hookledger_parked")
        return RebuildCheck(
            head=await log_head(conn),
            lowest_checkpoint=int(lowest or 0),
            parked=int(parked),
            rows={name: len(rows) for name, rows in live.items()},
            differing=differing,
        )
    finally:
        await conn.close()
