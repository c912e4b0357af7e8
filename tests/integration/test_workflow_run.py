"""``hookledger run`` (what ``make run`` starts) runs the reactor and the dispatcher along with the
API and the projection workers: a signed webhook becomes a job that is delivered. With no SMTP
configured, email goes to the log-only sender, which says so at start-up."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeAlias

import asyncpg
import httpx
import pytest

from tests.support import signing
from tests.support.outbox import count_jobs, until
from tests.support.smtp_sink import free_port

Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record]"

COMMAND = Path(sys.executable).with_name("hookledger")  # the installed entry point
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
ORDER = (FIXTURES / "lemonsqueezy" / "order_created.json").read_bytes()

WORKFLOWS = """
[workflow.welcome]
provider = "lemonsqueezy"
event = "order_created"
action = "email"
to = "${data.attributes.user_email}"
subject = "Welcome, ${data.attributes.user_name}"
body = "Hello"
"""


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[Conn]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


def start_run(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(COMMAND), "run"], env=env, stdout=log, stderr=log, start_new_session=True
        )


async def wait_until_serving(http: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "hookledger run exited during start-up"
        try:
            if (await http.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError("hookledger run did not start serving")


async def test_run_delivers_workflow_jobs_with_the_log_only_sender(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "workflows.toml").write_text(WORKFLOWS)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SMTP_", "OUTBOX_", "WORKFLOWS_", "REACTOR_"))
    }
    env |= signing.ALL_SECRETS_ENV | {
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "WORKFLOWS_FILE": str(tmp_path / "workflows.toml"),
        "WORKER_POLL_SECONDS": "0.2",
        "OUTBOX_POLL_SECONDS": "0.2",
    }
    log_path = tmp_path / "run.log"
    process = start_run(env, log_path)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await wait_until_serving(http, process)
            # The reactor starts at the log's head (REACTOR_START=latest): wait until it has.
            await until(lambda: _reactor_ready(conn), timeout=60)
            response = await http.post(
                "/webhooks/lemonsqueezy",
                content=ORDER,
                headers=signing.lemonsqueezy_headers(ORDER, "order_created"),
            )
            assert response.status_code == 200
            await until(lambda: _delivered(conn), timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    assert process.returncode == 0
    output = log_path.read_text()
    assert "parked event" not in output
    assert "SMTP_HOST is unset: email actions are LOG-ONLY" in output
    assert "workflows: 1 from" in output
    assert "running reactor and dispatcher" in output
    assert "log-only email (not sent): job=" in output
    assert (
        "workflow=welcome to=Mary.Somerville@Example.com subject='Welcome, Mary Somerville'"
        in output
    )
    assert "body='Hello\\n'" in output  # the rendered body, for checking templates
    detail = await conn.fetchval("SELECT detail FROM hookledger_job_attempts")
    assert detail == "log-only: not sent (SMTP_HOST unset)"


async def _reactor_ready(conn: Conn) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT count(*) FROM hookledger_checkpoints WHERE projection = 'reactor'"
        )
    )


async def _delivered(conn: Conn) -> bool:
    return await count_jobs(conn, "delivered") == 1


async def test_run_fails_and_names_the_child_when_one_dies(
    database_url: str, tmp_path: Path
) -> None:
    """A worker or server that dies on its own takes ``hookledger run`` down with a non-zero
    status and a log line naming it, so that a service manager restarts the set."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKFLOWS_", "SMTP_"))}
    env |= signing.ALL_SECRETS_ENV | {"DATABASE_URL": database_url, "PORT": str(port)}
    log_path = tmp_path / "run.log"
    process = start_run(env, log_path)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await wait_until_serving(http, process)
        worker = _worker_pid(process.pid)
        assert worker is not None, "hookledger run has no worker child"
        os.kill(worker, signal.SIGKILL)
        await asyncio.to_thread(process.wait, 30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 1
    assert "hookledger worker exited on its own (status -9): stopping the rest" in (
        log_path.read_text()
    )


def _worker_pid(parent: int) -> int | None:
    """The pid of ``hookledger run``'s worker child, once it is running."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    for pid in children:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"worker" in cmdline:
            return int(pid)
    return None
