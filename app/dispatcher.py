"""The dispatcher: delivers due outbox jobs, retrying with capped exponential backoff and full
jitter, and moves a job to dead-letter after ``max_attempts`` failed attempts. Every attempt is
recorded.

Any number of dispatchers may run (in one process or many): each claims a batch of due jobs with
``FOR UPDATE SKIP LOCKED`` and keeps that transaction open while it sends them concurrently, then
records the attempts and commits. So no two dispatchers send the same job at once; a crash
between sending and COMMIT means the job is sent again later with the same idempotency key
(at-least-once; receivers dedupe on ``webhook-id`` / ``Idempotency-Key``). Wake-ups: NOTIFY on
``hookledger_jobs`` (new jobs, retries) and a timer for the next job that becomes due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import msgspec

from app.actions.base import JobRun, PermanentFailure, Sender
from domain.log_record import LoggedEvent
from domain.workflows import WorkflowSet
from domain.workflows.backoff import next_delay
from projections import outbox
from projections.db_types import Conn
from projections.reactor import JOBS_CHANNEL
from projections.transient import is_transient

log = logging.getLogger("hookledger.dispatcher")


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    database_url: str
    workflows: WorkflowSet
    senders: Mapping[str, Sender]
    max_attempts: int = 8
    backoff_base: float = 30.0
    backoff_cap: float = 3600.0
    batch_size: int = 10
    poll_seconds: float = 1.0
    timeout: float = 10.0
    connect_timeout: float = 5.0
    rand: Callable[[], float] = field(default=random.random)


@dataclass(frozen=True, slots=True)
class Result:
    outcome: str  # delivered | retry | dead
    error: str | None = None
    detail: str | None = None
    retry_in: float = 0.0


def _decode(body: bytes) -> object:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None


async def attempt(cfg: DispatchConfig, job: outbox.Job, event: LoggedEvent) -> Result:
    """One attempt of one job; never raises (every ending is a Result)."""
    workflow = cfg.workflows.by_name(job.workflow)
    if workflow is None:
        return Result("dead", f"workflow {job.workflow!r} is not in WORKFLOWS_FILE any more")
    sender = cfg.senders.get(workflow.action)
    if sender is None:
        return Result("dead", f"no sender for action type {workflow.action!r}")
    payload = _decode(event.body)
    run = JobRun(job.id, job.workflow, job.idempotency_key, job.attempts + 1, event, payload)
    try:
        # Senders have their own timeouts; this bounds a peer that trickles bytes forever.
        detail = await asyncio.wait_for(sender.send(workflow.config, run), cfg.timeout * 3)
        return Result("delivered", detail=detail)
    except PermanentFailure as exc:
        return Result("dead", f"permanent: {exc}")
    except Exception as exc:
        error = str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError):
            error = f"timed out after {cfg.timeout * 3:g} s"
        delay = next_delay(
            job.attempts + 1, cfg.max_attempts, cfg.backoff_base, cfg.backoff_cap, cfg.rand()
        )
        return Result("dead" if delay is None else "retry", error, retry_in=delay or 0.0)


async def _timed(
    cfg: DispatchConfig, job: outbox.Job, event: LoggedEvent
) -> tuple[datetime, Result]:
    started = datetime.now(UTC)
    return started, await attempt(cfg, job, event)


async def dispatch_once(conn: Conn, cfg: DispatchConfig) -> int:
    """Claim up to ``batch_size`` due jobs, attempt them concurrently, record every attempt;
    returns how many were attempted."""
    async with conn.transaction():
        claimed = await outbox.claim_due(conn, cfg.batch_size)
        if not claimed:
            return 0
        results = await asyncio.gather(*(_timed(cfg, job, event) for job, event in claimed))
        for (job, _), (started, result) in zip(claimed, results, strict=True):
            if result.outcome != "delivered":
                log.warning(
                    "job %d (%s, %s:%s) attempt %d: %s — %s",
                    job.id,
                    job.workflow,
                    job.provider,
                    job.event_id,
                    job.attempts + 1,
                    result.outcome,
                    result.error,
                )
            await outbox.record_attempt(
                conn, job, started, result.outcome, result.error, result.detail, result.retry_in
            )
    return len(claimed)


async def _wait(wake: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def _serve(conn: Conn, cfg: DispatchConfig, stop: asyncio.Event) -> None:
    wake = asyncio.Event()
    await conn.add_listener(JOBS_CHANNEL, lambda *_: wake.set())
    while not stop.is_set():
        wake.clear()  # a NOTIFY during the round sets it again: none is lost
        if await dispatch_once(conn, cfg) >= cfg.batch_size:
            continue
        until = await outbox.seconds_until_next(conn)
        await _wait(wake, stop, cfg.poll_seconds if until is None else min(cfg.poll_seconds, until))


async def run_dispatcher(cfg: DispatchConfig, stop: asyncio.Event) -> None:
    """Deliver due jobs until ``stop`` is set; reconnects after database failures."""
    while not stop.is_set():
        conn: Conn | None = None
        try:
            conn = await asyncpg.connect(cfg.database_url, timeout=cfg.connect_timeout)
            await _serve(conn, cfg, stop)
        except Exception as exc:
            if is_transient(exc):
                log.warning("dispatcher: database unavailable (%s)", type(exc).__name__)
            else:
                log.exception("dispatcher: round failed; retrying")
            await _wait(asyncio.Event(), stop, cfg.poll_seconds)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), 2)
