"""``hookledger worker`` as a real subprocess in a process group of its own, so a test can SIGKILL
it (and anything it started) at any instant and start another one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping
from pathlib import Path

from tests.support.read_models import CATALOG_TOML
from tests.support.service_process import REPO, service_env


def worker_env(
    database_url: str, folder: Path, *, batch_size: int = 1000, **extra: str
) -> dict[str, str]:
    """The service environment plus the test product catalogue (tests/support/read_models.py),
    so the live read models and a reference rebuild use the same catalogue."""
    products = folder / "products.toml"
    products.write_text(CATALOG_TOML)
    env = service_env(database_url, 0, workers=1)
    env.update(
        PRODUCTS_FILE=str(products),
        WORKER_BATCH_SIZE=str(batch_size),
        WORKER_POLL_SECONDS="0.2",
    )
    env.update(extra)
    return env


class WorkerProcess:
    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                *_worker_command(),
                env=self.env,
                cwd=REPO,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def kill(self) -> None:
        """SIGKILL the process group; returns once the worker is reaped."""
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        await self._proc.wait()

    async def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (the worker finishes its step), SIGKILL after ``timeout``."""
        if not self.running:
            return
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self._proc.wait(), timeout)
        except TimeoutError:
            await self.kill()


def _worker_command() -> list[str]:
    import sys

    script = Path(sys.executable).with_name("hookledger")
    if script.exists():
        return [str(script), "worker"]
    return [sys.executable, "-m", "app.cli", "worker"]
