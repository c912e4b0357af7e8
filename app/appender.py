"""Group commit: many concurrent requests' appends written together in one transaction.

Delivery guarantee: ``append`` returns only after the transaction holding the event has
COMMITted (the stored function runs in its own implicit transaction, and asyncpg returns after
the server's ReadyForQuery, which follows the commit). Any failure raises DatabaseUnavailable, and
the caller answers 503: it never acknowledges what is not durable.

Batching adds as little waiting as possible: there is no timer. A writer that is free takes
everything queued (up to ``batch_max``) at once; while it commits, new requests queue up and form
the next batch. Duplicates within a batch are folded before the insert; duplicates of stored
rows are skipped by the unique keys inside the insert, never by failing the batch. If the batch
fails for a reason other than the connection, its rows are retried one by one so one request's
problem never fails another's.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from app.db import TRANSIENT_ERRORS, DatabaseUnavailable
from domain.log_record import TOPIC, encode_state, originator_id
from domain.providers.base import Envelope, Verification

log = logging.getLogger(__name__)

_APPEND_SQL = (
    "SELECT appended_id, appended_position FROM hookledger_append("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
)


@dataclass(slots=True)
class NewEvent:
    originator_id: uuid.UUID
    state: bytes
    provider: str
    event_id: str
    event_type: str
    occurred_at: datetime | None
    received_at: datetime
    body_offset: int
    headers_json: str
    scheme: str
    secret_index: int
    skew_seconds: int | None


def build_event(
    *,
    provider: str,
    envelope: Envelope,
    verification: Verification,
    body: bytes,
    headers_json: str,
    received_at: datetime,
) -> NewEvent:
    """The row for one verified delivery (state holds the raw body spliced in, see log_record)."""
    state, offset = encode_state(
        provider=provider,
        event_id=envelope.event_id,
        event_type=envelope.event_type,
        occurred_at=envelope.occurred_at,
        received_at=received_at,
        body=body,
    )
    return NewEvent(
        originator_id=originator_id(provider, envelope.event_id),
        state=state,
        provider=provider,
        event_id=envelope.event_id,
        event_type=envelope.event_type,
        occurred_at=envelope.occurred_at,
        received_at=received_at,
        body_offset=offset,
        headers_json=headers_json,
        scheme=verification.scheme,
        secret_index=verification.secret_index,
        skew_seconds=verification.skew_seconds,
    )


@dataclass(frozen=True, slots=True)
class AppendOutcome:
    status: Literal["accepted", "duplicate"]
    position: int | None


@dataclass(slots=True)
class _Pending:
    event: NewEvent
    future: asyncio.Future[AppendOutcome] = field(repr=False)


class GroupCommitAppender:
    def __init__(
        self, pool: asyncpg.Pool, *, batch_max: int, writers: int, timeout_seconds: float
    ) -> None:
        self._pool = pool
        self._batch_max = batch_max
        self._writer_count = writers
        self._timeout = timeout_seconds
        self._queue: deque[_Pending] = deque()
        self._wakeup = asyncio.Event()
        self._writers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._writers = [
            asyncio.create_task(self._write_loop(), name=f"appender-{i}")
            for i in range(self._writer_count)
        ]

    async def stop(self) -> None:
        # Drain what is queued first: those requests are still waiting for their answer.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        while self._queue and loop.time() < deadline:  # noqa: ASYNC110 - bounded drain
            await asyncio.sleep(0.01)
        for task in self._writers:
            task.cancel()
        await asyncio.gather(*self._writers, return_exceptions=True)

    async def append(self, event: NewEvent) -> AppendOutcome:
        future: asyncio.Future[AppendOutcome] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(event, future))
        self._wakeup.set()
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._timeout)
        except TimeoutError:
            # The write may still commit later; the provider's retry then gets "duplicate".
            future.add_done_callback(_consume)
            raise DatabaseUnavailable("append timed out") from None

    async def _write_loop(self) -> None:
        # Each writer keeps one connection across batches (no pool reset round trip per batch);
        # after a connection-level failure it drops it and takes a fresh one for the next batch.
        conn: PoolConnectionProxy[asyncpg.Record] | None = None
        try:
            while True:
                if not self._queue:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                take = min(len(self._queue), self._batch_max)
                batch = [self._queue.popleft() for _ in range(take)]
                try:
                    if conn is None:
                        conn = await self._pool.acquire()
                except TRANSIENT_ERRORS as exc:
                    _fail(batch, DatabaseUnavailable(type(exc).__name__))
                    continue
                if not await self._flush(conn, batch):
                    await self._pool.release(conn)
                    conn = None
        finally:
            if conn is not None:
                await self._pool.release(conn)

    async def _flush(
        self, conn: PoolConnectionProxy[asyncpg.Record], batch: list[_Pending]
    ) -> bool:
        """Write ``batch`` and answer its requests; False when the connection is unusable."""
        groups: dict[uuid.UUID, list[_Pending]] = {}
        for pending in batch:
            groups.setdefault(pending.event.originator_id, []).append(pending)
        firsts = [group[0].event for group in groups.values()]
        try:
            inserted = await self._insert(conn, firsts)
        except TRANSIENT_ERRORS as exc:
            _fail(batch, DatabaseUnavailable(type(exc).__name__))
            return False
        except asyncpg.PostgresError as exc:
            if len(groups) == 1:
                log.error("append failed: %s", type(exc).__name__)
                _fail(batch, DatabaseUnavailable(type(exc).__name__))
                return True
            for group in groups.values():
                if not await self._flush(conn, group):
                    _fail(batch, DatabaseUnavailable("connection lost"))
                    return False
            return True
        for oid, group in groups.items():
            position = inserted.get(oid)
            first = AppendOutcome("accepted", position) if position else None
            for i, pending in enumerate(group):
                outcome = first if (first and i == 0) else AppendOutcome("duplicate", None)
                if not pending.future.done():
                    pending.future.set_result(outcome)
        return True

    async def _insert(
        self, conn: PoolConnectionProxy[asyncpg.Record], events: list[NewEvent]
    ) -> dict[uuid.UUID, int]:
        rows = await conn.fetch(
            _APPEND_SQL,
            TOPIC,
            [e.originator_id for e in events],
            [e.state for e in events],
            [e.provider for e in events],
            [e.event_id for e in events],
            [e.event_type for e in events],
            [e.occurred_at for e in events],
            [e.received_at for e in events],
            [e.body_offset for e in events],
            [e.headers_json for e in events],
            [e.scheme for e in events],
            [e.secret_index for e in events],
            [e.skew_seconds for e in events],
        )
        return {row[0]: row[1] for row in rows}


def _fail(batch: list[_Pending], error: Exception) -> None:
    for pending in batch:
        if not pending.future.done():
            pending.future.set_exception(error)


def _consume(future: asyncio.Future[AppendOutcome]) -> None:
    if not future.cancelled():
        future.exception()
