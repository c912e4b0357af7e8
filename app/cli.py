"""The ``hookledger`` command: the composition root for every process.

Settings are built here once from the environment and passed down. When ``DATABASE_URL`` is unset,
an embedded PostgreSQL is started under ``DATA_DIR`` and handed to everything this command starts.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
import uvicorn

from app import embedded_postgres
from app.bootstrap import load_catalog, prepare_database
from app.operator_cli import add_operator_commands
from app.settings import Settings, SettingsError

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
    log.info("DATABASE_URL is unset: embedded PostgreSQL, data under %s", settings.data_dir)
    return settings.with_database(url), server


async def _prepare(settings: Settings) -> list[str]:
    conn = await asyncpg.connect(settings.database_url, timeout=settings.db_connect_timeout_seconds)
    try:
        return await prepare_database(conn)
    finally:
        await conn.close()


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    applied = asyncio.run(_prepare(settings))
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    return 0


def cmd_serve(settings: Settings, _: argparse.Namespace) -> int:
    from app.web import create_app

    asyncio.run(_prepare(settings))
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


def cmd_run(settings: Settings, _: argparse.Namespace) -> int:
    """API and projection workers together (production runs ``serve`` and ``worker`` apart)."""
    load_catalog(settings.products_file)  # fail fast on a bad PRODUCTS_FILE
    asyncio.run(_prepare(settings))
    env = {**os.environ, "DATABASE_URL": settings.database_url or ""}
    exe = [sys.executable, "-m", "app.cli"]
    children = {
        "worker": subprocess.Popen([*exe, "worker"], env=env),  # noqa: S603
        "serve": subprocess.Popen([*exe, "serve"], env=env),  # noqa: S603
    }
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(c.poll() is None for c in children.values()):
        time.sleep(0.2)
    # A child that ended on its own (crash, kill) takes the others down and fails the command,
    # so that a service manager restarts the whole set; a requested stop exits 0.
    asked = stopping
    for name, child in children.items():
        if not asked and child.poll() is not None:
            log.error(
                "hookledger %s exited on its own (status %s): stopping the rest",
                name,
                child.returncode,
            )
    stop()
    for child in children.values():
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0 if asked else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hookledger", description="Verified webhook intake.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="API and projection workers together (make run)").set_defaults(
        handler=cmd_run
    )
    sub.add_parser("serve", help="the HTTP API (webhook intake, read API)").set_defaults(
        handler=cmd_serve
    )
    sub.add_parser("migrate", help="apply pending migrations").set_defaults(handler=cmd_migrate)
    add_operator_commands(sub)
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
    try:
        return int(args.handler(settings, args))
    except ValueError as exc:
        print(f"hookledger: {exc}", file=sys.stderr)
        return 2
    finally:
        del server  # the embedded server (if any) stops when this process exits


if __name__ == "__main__":
    sys.exit(main())
