"""Operating the outbox: ``hookledger jobs list | show | retry | cancel | summary`` and
``hookledger status`` through the installed command against a real database, and
``GET /api/jobs/summary``. Jobs are put in every state by the real reactor and dispatcher."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeAlias

import asyncpg
import httpx
import msgspec
import pytest

from app.dispatcher import dispatch_once
from app.reactions import dispatch_config, make_senders
from app.settings import Settings
from domain.workflows import WorkflowSet
from projections.reactor import ensure_checkpoint, react
from tests.support.log_writer import append_all
from tests.support.outbox import react_all, workflow_settings
from tests.support.read_models import log_head
from tests.support.scenarios import Delivery, ls_event
from tests.support.server import running_server

Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record]"

API_TOKEN = "jobs-test-api-token-7c1d"
COMMAND = Path(sys.executable).with_name("hookledger")  # the installed entry point

WORKFLOWS = """
[workflow.welcome]
provider = "lemonsqueezy"
event = "order_created"
action = "email"
to = "${data.attributes.user_email}"
subject = "Welcome"
body = "Hello ${data.attributes.user_name}"
"""


def order(n: int) -> Delivery:
    attributes: dict[str, object] = {"user_email": f"buyer{n}@example.com", "user_name": f"B {n}"}
    return ls_event("order_created", "orders", str(100 + n), attributes | {"updated_at": str(n)})


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[Conn]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def jobs_in_every_state(conn: Conn, settings: Settings) -> dict[str, int]:
    """Four jobs: one dead, one delivered (log-only email), two pending (one 90 s old)."""
    assert settings.workflows is not None
    await append_all(settings.database_url or "", [order(n) for n in range(4)])
    await react_all(conn, settings.workflows)
    ids = [r[0] for r in await conn.fetch("SELECT id FROM hookledger_jobs ORDER BY id")]
    assert len(ids) == 4
    real = dispatch_config(settings, settings.workflows, make_senders(settings, settings.workflows))
    # The first job's workflow has since been removed from the file: it dies at once.
    removed = dataclasses.replace(real, workflows=WorkflowSet(), batch_size=1)
    assert await dispatch_once(conn, removed) == 1
    assert await dispatch_once(conn, dataclasses.replace(real, batch_size=1)) == 1
    await conn.execute(
        "UPDATE hookledger_jobs SET created_at = now() - interval '90 seconds' WHERE id = $1",
        ids[2],
    )
    return {"dead": ids[0], "delivered": ids[1], "old": ids[2], "young": ids[3]}


async def hookledger(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("WORKFLOWS_FILE", None)  # operators' commands need no workflow file
    return await asyncio.to_thread(
        subprocess.run, [str(COMMAND), *args], env=env, capture_output=True, text=True, timeout=60
    )


async def test_jobs_commands(conn: Conn, database_url: str, tmp_path: Path) -> None:
    settings = workflow_settings(database_url, tmp_path, WORKFLOWS)
    ids = await jobs_in_every_state(conn, settings)

    listed = await hookledger(database_url, "jobs", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "status", "att"]
    by_id = {int(line.split()[0]): line for line in lines[1:]}
    assert sorted(by_id) == sorted(ids.values())
    assert by_id[ids["dead"]].split()[1:3] == ["dead", "1"]
    assert "is not in WORKFLOWS_FILE any more" in by_id[ids["dead"]]
    assert by_id[ids["delivered"]].split()[1:3] == ["delivered", "1"]
    assert by_id[ids["old"]].split()[1:3] == ["pending", "0"]

    dead = await hookledger(database_url, "jobs", "list", "--status", "dead")
    assert [int(line.split()[0]) for line in dead.stdout.splitlines()[1:]] == [ids["dead"]]

    shown = await hookledger(database_url, "jobs", "show", str(ids["delivered"]))
    assert shown.returncode == 0, shown.stderr
    key = await conn.fetchval(
        "SELECT idempotency_key FROM hookledger_jobs WHERE id = $1", ids["delivered"]
    )
    assert shown.stdout.splitlines()[1].split()[:3] == ["idempotency", "key", key]
    attempt = shown.stdout.splitlines()[2].split()
    assert (attempt[0], attempt[3]) == ("#1", "delivered")
    assert "log-only: not sent (SMTP_HOST unset)" in shown.stdout

    retried = await hookledger(database_url, "jobs", "retry", str(ids["dead"]))
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.split()[1:3] == ["pending", "0"]
    row = await conn.fetchrow(
        "SELECT status, attempts, next_attempt_at <= now() AS due FROM hookledger_jobs"
        " WHERE id = $1",
        ids["dead"],
    )
    assert row is not None
    assert tuple(row) == ("pending", 0, True)

    cancelled = await hookledger(database_url, "jobs", "cancel", str(ids["young"]))
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.split()[1] == "cancelled"
    assert await conn.fetchval(
        "SELECT status FROM hookledger_jobs WHERE id = $1", ids["young"]
    ) == ("cancelled")

    refused = await hookledger(database_url, "jobs", "cancel", str(ids["delivered"]))
    assert (refused.returncode, refused.stderr) == (
        1,
        f"job {ids['delivered']} is delivered: cannot cancel it\n",
    )
    missing = await hookledger(database_url, "jobs", "retry", "999999")
    assert (missing.returncode, missing.stderr) == (1, "no job with id 999999\n")
    no_id = await hookledger(database_url, "jobs", "retry")
    assert (no_id.returncode, no_id.stderr) == (2, "hookledger jobs retry needs an ID\n")
    # Earlier attempts stay on record after a retry.
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM hookledger_job_attempts WHERE job_id = $1", ids["dead"]
        )
        == 1
    )


async def test_status_and_the_api_show_queue_depth_oldest_age_and_dead_letters(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    settings = workflow_settings(database_url, tmp_path, WORKFLOWS)
    await jobs_in_every_state(conn, settings)

    status = await hookledger(database_url, "status")
    assert status.returncode == 0, status.stderr
    [outbox_line] = [line for line in status.stdout.splitlines() if line.startswith("outbox:")]
    words = outbox_line.split()
    assert words[1:5] == ["2", "pending", "(2", "due),"]
    assert 90 <= float(words[7]) < 600  # oldest pending, in seconds
    assert words[9:] == ["1", "dead"]
    head = await log_head(conn)
    assert f"reactor: checkpoint {head}, lag 0 events, stopped" in status.stdout

    summary = await hookledger(database_url, "jobs", "summary", "--json")
    as_json = msgspec.json.decode(summary.stdout)
    assert (as_json["pending"], as_json["due"], as_json["dead"]) == (2, 2, 1)
    assert 90 <= as_json["oldest_pending_age_seconds"] < 600

    api = Settings.from_env({"DATABASE_URL": database_url, "API_TOKEN": API_TOKEN})
    async with running_server(api) as url, httpx.AsyncClient(base_url=url) as http:
        closed = await http.get("/api/jobs/summary")
        answer = await http.get(
            "/api/jobs/summary", headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
    assert closed.status_code == 401
    assert answer.status_code == 200
    body = answer.json()
    assert (body["pending"], body["due"], body["dead"]) == (2, 2, 1)
    assert 90 <= body["oldest_pending_age_seconds"] < 600
    assert (body["reactor_checkpoint"], body["reactor_lag_events"]) == (head, 0)
    assert body["reactor_running"] is False


async def test_a_job_is_never_enqueued_twice(conn: Conn, database_url: str, tmp_path: Path) -> None:
    """Even if the reactor's checkpoint went back (it cannot: jobs and checkpoint commit
    together), the unique keys would keep every (workflow, event) to one job."""
    settings = workflow_settings(database_url, tmp_path, WORKFLOWS)
    assert settings.workflows is not None
    await append_all(database_url, [order(n) for n in range(5)])
    await react_all(conn, settings.workflows)
    before = await conn.fetch("SELECT id, idempotency_key FROM hookledger_jobs ORDER BY id")
    await conn.execute(
        "UPDATE hookledger_checkpoints SET position = 0 WHERE projection = 'reactor'"
    )
    await ensure_checkpoint(conn, "latest")  # an existing checkpoint is never moved
    async with conn.transaction():
        assert await react(conn, settings.workflows, 100) == 5
    after = await conn.fetch("SELECT id, idempotency_key FROM hookledger_jobs ORDER BY id")
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    assert len(before) == 5
