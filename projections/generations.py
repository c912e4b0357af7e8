"""Creating projection generations and pointing the public views at the active one.

Invariant: every projection has exactly one active generation whose schema exists and whose
view is the public name; all changes to that happen inside the caller's transaction.
"""

from __future__ import annotations

from domain.products import ProductCatalog
from projections.catalogs import encode_catalog
from projections.db_types import Conn
from projections.schema import PROJECTIONS, create_generation_sql, point_view_sql, schema_name

ANALYST_ROLE = "hookledger_analyst"


async def create_generation(
    conn: Conn, projection: str, schema: str, catalog: ProductCatalog | None = None
) -> None:
    """A fresh, empty schema for ``projection`` with its checkpoint at 0 (drops a leftover),
    recording the product catalogue it will be built with (None: its first live step's)."""
    await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    await conn.execute(create_generation_sql(projection, schema))
    await conn.execute(
        f'GRANT USAGE ON SCHEMA "{schema}" TO {ANALYST_ROLE};'
        f' GRANT SELECT ON "{schema}".{projection} TO {ANALYST_ROLE}'
    )
    await conn.execute(
        "INSERT INTO hookledger_checkpoints (projection, schema_name, position, catalog)"
        " VALUES ($1, $2, 0, $3::jsonb) ON CONFLICT (projection, schema_name)"
        " DO UPDATE SET position = 0, catalog = excluded.catalog, updated_at = now()",
        projection,
        schema,
        None if catalog is None else encode_catalog(catalog),
    )


async def point_views(conn: Conn, projection: str, schema: str) -> None:
    await conn.execute(point_view_sql(projection, schema))
    await conn.execute(f"GRANT SELECT ON public.{projection} TO {ANALYST_ROLE}")


async def ensure_projections(conn: Conn) -> None:
    """Create generation 1 and its views for any projection that has none yet."""
    await conn.execute("SELECT pg_advisory_lock(1752134507)")
    try:
        for projection in PROJECTIONS:
            exists = await conn.fetchval(
                "SELECT 1 FROM hookledger_projections WHERE name = $1", projection
            )
            if exists:
                continue
            async with conn.transaction():
                schema = schema_name(projection, 1)
                await create_generation(conn, projection, schema)
                await point_views(conn, projection, schema)
                await conn.execute(
                    "INSERT INTO hookledger_projections (name, active_generation) VALUES ($1, 1)",
                    projection,
                )
    finally:
        await conn.execute("SELECT pg_advisory_unlock(1752134507)")
