"""Child processes of a benchmark run: servers under test and measuring drivers.

Every child runs in its own session (process group), so stopping it reaches its worker processes
and nothing else. Children inherit this interpreter (the project's virtualenv) and the project
root as working directory, so ``python -m bench.…`` and uvicorn import strings resolve.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench.stats import DriverResult, read_result

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class ChildFailed(RuntimeError):
    """A server did not become ready or a driver failed; the message carries its log tail."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _ready(port: int, path: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _spawn(command: Sequence[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Starts ``command`` in its own session (stopped as a group), output to ``log``."""
    with log.open("wb") as log_file:
        return subprocess.Popen(
            list(command),
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextmanager
def server(
    command: Sequence[str], env: Mapping[str, str], port: int, log: Path, ready_path: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Starts a server, waits until ``GET ready_path`` answers 200, stops it (SIGTERM) on exit."""
    proc = _spawn(command, env, log)
    try:
        deadline = time.monotonic() + 90
        while not _ready(port, ready_path):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ChildFailed(f"{command[0]} did not become ready:\n{_tail(log)}")
            time.sleep(0.2)
        yield proc
    finally:
        _stop(proc)


@contextmanager
def background(
    command: Sequence[str], env: Mapping[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Runs a process with no readiness URL (e.g. ``hookledger worker``); stops it on exit."""
    proc = _spawn(command, env, log)
    try:
        time.sleep(0.5)
        if proc.poll() is not None:
            raise ChildFailed(f"{command[0]} exited at start:\n{_tail(log)}")
        yield proc
    finally:
        _stop(proc)


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a child's log, for error messages."""
    return _tail(path, lines)


def start_driver(module: str, args: Sequence[str], out: Path, log: Path) -> subprocess.Popen[bytes]:
    """Starts ``python -m module`` writing its result to ``out``; see ``finish_driver``."""
    with log.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", module, "--out", str(out), *args],
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def finish_driver(
    proc: subprocess.Popen[bytes], out: Path, log: Path, timeout: float
) -> DriverResult:
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise ChildFailed(f"driver timed out:\n{_tail(log)}") from None
    if code != 0 or not out.exists():
        raise ChildFailed(f"driver exited with {code}:\n{_tail(log)}")
    return read_result(out)
