"""Which product catalogue each read-model generation is mapped with (its checkpoint row).

Invariant: all events in one generation are mapped with one catalogue. A rebuild records its
catalogue when it creates the new generation; a live generation that has none yet (created by
``migrate``) records the first live worker's. A worker whose own catalogue (its PRODUCTS_FILE)
differs from the recorded one keeps using the recorded one, unless the generation holds no
event yet, and is told so, so that changing the file takes effect through ``hookledger rebuild``
and a live model never mixes two catalogues.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from domain.products import ProductCatalog
from projections.db_types import Conn


@dataclass(frozen=True, slots=True)
class GenerationCatalog:
    catalog: ProductCatalog
    """The catalogue to map this generation's events with."""
    differs_from_own: bool
    """The caller's own catalogue is not the recorded one (a rebuild would re-map)."""


def encode_catalog(catalog: ProductCatalog) -> str:
    return msgspec.json.encode(catalog).decode()


async def record_catalog(conn: Conn, projection: str, schema: str, catalog: ProductCatalog) -> None:
    """Record ``catalog`` for a generation (a new generation, before any event is applied)."""
    await conn.execute(
        "UPDATE hookledger_checkpoints SET catalog = $3::jsonb"
        " WHERE projection = $1 AND schema_name = $2",
        projection,
        schema,
        encode_catalog(catalog),
    )


async def generation_catalog(
    conn: Conn, projection: str, schema: str, own: ProductCatalog
) -> GenerationCatalog:
    """The catalogue of a generation, inside the caller's transaction (which must hold the
    projection's row lock, as every live step, parked retry and swap does). Records ``own``
    when the generation has none, or holds no event yet."""
    row = await conn.fetchrow(
        "SELECT position, catalog::text AS catalog FROM hookledger_checkpoints"
        " WHERE projection = $1 AND schema_name = $2",
        projection,
        schema,
    )
    if row is None:
        raise LookupError(f"no checkpoint for {projection} in {schema}")
    if row["catalog"] is not None:
        recorded = msgspec.json.decode(row["catalog"], type=ProductCatalog)
        if recorded == own:
            return GenerationCatalog(recorded, differs_from_own=False)
        if row["position"] > 0:
            return GenerationCatalog(recorded, differs_from_own=True)
    await record_catalog(conn, projection, schema, own)
    return GenerationCatalog(own, differs_from_own=False)
