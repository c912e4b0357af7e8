"""The ``hookledger`` command: the composition root for every process.

Settings are built here once from the environment and passed down. When ``DATABASE_URL`` is unset,
an embedded PostgreSQL is started under ``DATA_DIR`` and handed to everything this command starts.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import asyncpg
import uvicorn

from app import embedded_postgres
from app.settings import Settings, SettingsError
from migrations.runner import migrate

log = logging.getLogger("hookledger")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s",
        stream=sys.stderr,
    )


def _with_database(settings: Settings) -> tuple[Settings, Any]:
    """Settings with a database URL, starting the embedded server when none is configured."""
    if settings.database_url:
        return settings, None
    url, server = embedded_postgres.start(settings.data_dir)
    log.info("DATABASE_URL is unset: using the embedded PostgreSQL under %s", settings.data_dir)
    return settings.with_database(url), server


async def _migrate(settings: Settings) -> list[str]:
    conn = await asyncpg.connect(settings.database_url, timeout=settings.db_connect_timeout_seconds)
    try:
        return await migrate(conn)
    finally:
        await conn.close()


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    applied = asyncio.run(_migrate(settings))
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    return 0


def cmd_serve(settings: Settings, _: argparse.Namespace) -> int:
    from app.web import create_app

    asyncio.run(_migrate(settings))
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "access_log": False,
        "log_config": None,
        "lifespan": "on",
    }
    log.info("serving on http://%s:%d", settings.host, settings.port)
    if settings.web_workers == 1:
        uvicorn.run(create_app(settings), **common)
    else:
        # Worker processes build their own Settings from the environment: hand them the URL.
        os.environ["DATABASE_URL"] = settings.database_url or ""
        uvicorn.run("app.web:create_app", factory=True, workers=settings.web_workers, **common)
    return 0


COMMANDS = {
    "serve": (cmd_serve, "run the HTTP API (webhook intake, read API)"),
    "migrate": (cmd_migrate, "apply pending database migrations"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hookledger", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"hookledger: configuration error: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    settings, server = _with_database(settings)
    handler, _ = COMMANDS[args.command]
    try:
        return handler(settings, args)
    finally:
        del server  # the embedded server (if any) stops when this process exits
