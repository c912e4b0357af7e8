"""Operator actions on parked events: list them, retry one, or skip one (kept for the record).

A retry applies the event to the live generation now. That is correct even though the
checkpoint has moved past it, because every fold is order-independent; the retry holds the
projection row lock like a live step, so the two never interleave.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from domain.products import ProductCatalog
from projections.batch import active_schema, apply_events
from projections.catalogs import generation_catalog
from projections.db_types import Conn
from projections.log_reader import read_one
from projections.registry import SPECS


class ParkedEvent(msgspec.Struct):
    id: int
    projection: str
    position: int
    provider: str
    event_id: str
    event_type: str
    error: str
    parked_at: datetime
    status: str


async def list_parked(conn: Conn, include_resolved: bool = False) -> list[ParkedEvent]:
    rows = await conn.fetch(
        "SELECT id, projection, position, provider, event_id, event_type, error, parked_at, status"
        " FROM hookledger_parked"
        + ("" if include_resolved else " WHERE status = 'parked'")
        + " ORDER BY id"
    )
    return [ParkedEvent(**dict(r)) for r in rows]


async def retry_parked(conn: Conn, parked_id: int, catalog: ProductCatalog) -> bool:
    """Re-apply a parked event; True when it now succeeds (then it is marked retried)."""
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT projection, position FROM hookledger_parked WHERE id = $1 AND status = 'parked'"
            " FOR UPDATE",
            parked_id,
        )
        if row is None:
            raise LookupError(f"no parked event with id {parked_id}")
        spec = SPECS[row["projection"]]
        schema = await active_schema(conn, spec.name, lock=True)
        event = await read_one(conn, row["position"])
        if event is None:
            raise LookupError(f"event at position {row['position']} is not in the log")
        # Still failing: apply_events parks it again, refreshing the error on this same row.
        mapping = await generation_catalog(conn, spec.name, schema, catalog)
        parked_again = await apply_events(conn, spec, schema, [event], mapping.catalog)
        if not parked_again:
            await conn.execute(
                "UPDATE hookledger_parked SET status = 'retried', resolved_at = now()"
                " WHERE id = $1",
                parked_id,
            )
        return parked_again == 0


async def skip_parked(conn: Conn, parked_id: int) -> None:
    status = await conn.execute(
        "UPDATE hookledger_parked SET status = 'skipped', resolved_at = now()"
        " WHERE id = $1 AND status = 'parked'",
        parked_id,
    )
    if status.endswith(" 0"):
        raise LookupError(f"no parked event with id {parked_id}")
