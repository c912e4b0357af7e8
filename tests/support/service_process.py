"""``hookledger serve`` as a real subprocess in a process group of its own, so a test can SIGKILL
the whole service (supervisor and every web worker) at once and start it again on the same port.

``start()`` returns once every web worker serves, not merely when the first one answers: a fault
injected while a worker is still in its start-up tests something else (test_web_worker_restart.py).
A worker serves once its event loop watches the listening socket, which uvicorn sets up right
after the app's lifespan start-up; that is read from /proc (Linux), not from the service's logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.support import signing

REPO = Path(__file__).resolve().parents[2]
_SECRET_VARS = frozenset(signing.ALL_SECRETS_ENV) | {"API_TOKEN", "DATABASE_URL", "PORT"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_command() -> list[str]:
    """The installed ``hookledger`` script next to this interpreter, else ``python -m app.cli``."""
    script = Path(sys.executable).with_name("hookledger")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "app.cli", "serve"]


def service_env(database_url: str, port: int, *, workers: int = 2, **extra: str) -> dict[str, str]:
    """The environment for one service: this checkout first on the path, only the Stripe
    secret, nothing inherited that could point it elsewhere."""
    env = {k: v for k, v in os.environ.items() if k not in _SECRET_VARS}
    env.update(
        PYTHONPATH=str(REPO),
        DATABASE_URL=database_url,
        STRIPE_WEBHOOK_SECRET=signing.STRIPE_SECRET,
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_WORKERS=str(workers),
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies awaiting a reaper do not count)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def _listening_inode(port: int) -> int | None:
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            return int(fields[9])
    return None


def _epoll_watches(pid: int, inode: int) -> bool:
    """Whether an epoll instance of ``pid`` watches the file with ``inode``."""
    wanted = f"ino:{inode:x}"
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd) != "anon_inode:[eventpoll]":
                continue
            info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
        except OSError:
            continue
        if any(line.startswith("tfd:") and wanted in line.split() for line in info.splitlines()):
            return True
    return False


def _port_refuses(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
    return False


class ServiceProcess:
    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.env = dict(env)
        self.port = int(self.env["PORT"])
        self.workers = int(self.env.get("WEB_WORKERS", "1"))
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.starts = 0
        self.kills = 0
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self, ready_timeout: float = 60.0) -> float:
        """Start, wait until every worker has started and ``/health`` answers; returns the
        seconds that took."""
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                *service_command(),
                env=self.env,
                cwd=REPO,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self.starts += 1
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as http:
            while True:
                if self._proc.returncode is not None:
                    raise RuntimeError(f"service exited during start-up:\n{self.log_tail()}")
                if time.monotonic() - began > ready_timeout:
                    raise RuntimeError(f"service not ready in {ready_timeout}s:\n{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    healthy = (await http.get("/health")).status_code == 200
                    if healthy and self.serving() >= self.workers:
                        return time.monotonic() - began
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL the whole process group; returns once the port refuses connections."""
        proc = self._require()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        self.kills += 1
        await self._wait_gone(proc.pid)

    async def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (graceful: uvicorn drains), SIGKILL if it takes longer than ``timeout``."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        await self._wait_gone(proc.pid)

    async def _wait_gone(self, pgid: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while _group_alive(pgid) or not _port_refuses(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"service process group {pgid} still alive after {timeout}s")
            await asyncio.sleep(0.02)

    def _require(self) -> asyncio.subprocess.Process:
        if self._proc is None:
            raise RuntimeError("service not started")
        return self._proc

    def worker_pids(self) -> list[int]:
        """The web worker processes (uvicorn spawns them) of the running service."""
        parent = self._require().pid
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            if ppid == parent and b"spawn_main" in cmdline:
                found.append(int(entry.name))
        return found

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def serving(self) -> int:
        """How many of the service's processes watch the listening socket in their event loop."""
        inode = _listening_inode(self.port)
        if inode is None:
            return 0
        candidates = self.worker_pids() if self.workers > 1 else [self._require().pid]
        return sum(1 for pid in candidates if _epoll_watches(pid, inode))

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
