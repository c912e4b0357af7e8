"""Database preparation shared by every process: migrations, then projection generations.

Idempotent and safe to run concurrently (both steps take advisory locks).
"""

from __future__ import annotations

from pathlib import Path

from domain.products import ProductCatalog, parse_catalog
from migrations.runner import migrate
from projections.db_types import Conn
from projections.generations import ensure_projections


async def prepare_database(conn: Conn) -> list[str]:
    applied = await migrate(conn)
    await ensure_projections(conn)
    return applied


def load_catalog(path: Path | None) -> ProductCatalog:
    """The product catalogue from ``PRODUCTS_FILE`` (empty when unset)."""
    if path is None:
        return ProductCatalog.empty()
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ValueError(f"PRODUCTS_FILE {path}: {exc.strerror}") from None
    try:
        return parse_catalog(text)
    except ValueError as exc:
        raise ValueError(f"PRODUCTS_FILE {path}: {exc}") from None
