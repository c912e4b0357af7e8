"""Shared fixtures: a real PostgreSQL, one migrated template per run, a fresh database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from app.bootstrap import prepare_database
from app.settings import Settings
from tests.support.postgres import admin_url, create_database, drop_database, with_database
from tests.support.server import running_server
from tests.support.signing import ALL_SECRETS_ENV


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with admin_url(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture(scope="session")
async def migrated_template(pg_admin_url: str) -> AsyncIterator[str]:
    name = await create_database(pg_admin_url)
    conn = await asyncpg.connect(with_database(pg_admin_url, name))
    try:
        await prepare_database(conn)
    finally:
        await conn.close()
    yield name
    await drop_database(pg_admin_url, name)


@pytest.fixture
async def database_url(pg_admin_url: str, migrated_template: str) -> AsyncIterator[str]:
    """A freshly migrated database of its own for one test."""
    name = await create_database(pg_admin_url, template=migrated_template)
    yield with_database(pg_admin_url, name)
    await drop_database(pg_admin_url, name)


@pytest.fixture
async def empty_database_url(pg_admin_url: str) -> AsyncIterator[str]:
    """A database with no schema at all (for migration tests)."""
    name = await create_database(pg_admin_url)
    yield with_database(pg_admin_url, name)
    await drop_database(pg_admin_url, name)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for a service with all four providers enabled, on this test's database."""
    return Settings.from_env({**ALL_SECRETS_ENV, "DATABASE_URL": database_url})


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the real app served by uvicorn on 127.0.0.1."""
    async with (
        running_server(settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        yield http
