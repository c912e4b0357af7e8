"""One projection step: read events after the checkpoint, fold them, write rows and the new
checkpoint — all inside the caller's transaction, so rows and checkpoint commit together
(exactly once). Applying the same events again changes nothing (the folds are idempotent).

A poison event never stops the projection and is never dropped silently: an event whose mapping
fails, or whose application fails on its own, is parked (projection, position, error) and the
checkpoint moves past it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from domain.errors import MappingError
from domain.facts import Fact
from domain.log_record import LoggedEvent
from domain.mapping import facts_for
from domain.products import ProductCatalog
from projections.db_types import Conn
from projections.log_reader import read_after
from projections.registry import ProjectionSpec
from projections.transient import is_transient

log = logging.getLogger("hookledger.projections")


Mapped = tuple[list[tuple[LoggedEvent, list[Fact]]], list[tuple[LoggedEvent, str]]]
"""Events with their facts, and events whose mapping failed with the reason."""


def map_events(events: Sequence[LoggedEvent], catalog: ProductCatalog) -> Mapped:
    mapped, failed = [], []
    for event in events:
        try:
            mapped.append((event, facts_for(event, catalog)))
        except MappingError as exc:
            failed.append((event, f"mapping: {exc}"))
        except Exception as exc:  # a mapper bug must park the event, not stop the world
            failed.append((event, f"mapping crashed: {type(exc).__name__}: {exc}"))
    return mapped, failed


async def park(conn: Conn, projection: str, event: LoggedEvent, error: str) -> None:
    log.error(
        "parked event: projection=%s position=%d provider=%s event_id=%s error=%s",
        projection,
        event.position,
        event.provider,
        event.event_id,
        error,
    )
    await conn.execute(
        "INSERT INTO hookledger_parked"
        " (projection, position, provider, event_id, event_type, error)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (projection, position) DO UPDATE"
        " SET error = excluded.error, parked_at = now()"
        " WHERE hookledger_parked.status = 'parked'",
        projection,
        event.position,
        event.provider,
        event.event_id,
        event.event_type,
        error[:2000],
    )


async def apply_events(
    conn: Conn,
    spec: ProjectionSpec,
    schema: str,
    events: Sequence[LoggedEvent],
    catalog: ProductCatalog,
) -> int:
    """Fold ``events`` into ``schema``; returns how many were parked."""
    return await apply_mapped(conn, spec, schema, map_events(events, catalog))


async def apply_mapped(conn: Conn, spec: ProjectionSpec, schema: str, batch: Mapped) -> int:
    """Fold already mapped events into ``schema``; returns how many were parked."""
    mapped, failed = batch
    for event, error in failed:
        await park(conn, spec.name, event, error)
    is_relevant = spec.relevant
    facts = [f for _, event_facts in mapped for f in event_facts if is_relevant(f)]
    if not facts:
        return len(failed)
    try:
        async with conn.transaction():  # savepoint: a failure here leaves earlier work intact
            await spec.apply(conn, schema, facts)
        return len(failed)
    except Exception as exc:
        if is_transient(exc):
            raise
    parked = len(failed)
    # Only on failure: the same relevant facts, grouped by event, to isolate the poison event(s).
    relevant = [(e, [f for f in fs if is_relevant(f)]) for e, fs in mapped]
    relevant = [(e, fs) for e, fs in relevant if fs]
    for event, facts in relevant:  # isolate the poison event(s)
        try:
            async with conn.transaction():
                await spec.apply(conn, schema, facts)
        except Exception as exc:
            if is_transient(exc):
                raise
            await park(conn, spec.name, event, f"apply: {type(exc).__name__}: {exc}")
            parked += 1
    return parked


async def advance(
    conn: Conn,
    spec: ProjectionSpec,
    schema: str,
    catalog: ProductCatalog,
    batch_size: int,
    as_of: datetime | None = None,
) -> int:
    """One batch into ``schema`` inside the caller's transaction; returns events consumed."""
    return await advance_many(conn, [(spec, schema)], catalog, batch_size, as_of)


async def advance_many(
    conn: Conn,
    targets: Sequence[tuple[ProjectionSpec, str]],
    catalog: ProductCatalog,
    batch_size: int,
    as_of: datetime | None = None,
) -> int:
    """One batch into several (projection, schema) targets, reading and mapping the log once;
    each target only gets events after its own checkpoint. Inside the caller's transaction."""
    positions = await checkpoints(conn, targets)
    events = await read_after(conn, min(positions), batch_size, as_of)
    if not events:
        return 0
    await apply_to_targets(conn, targets, positions, events, map_events(events, catalog))
    return len(events)


async def checkpoints(conn: Conn, targets: Sequence[tuple[ProjectionSpec, str]]) -> list[int]:
    """The targets' checkpoints, locked until the caller's transaction ends."""
    positions = []
    for spec, schema in targets:
        position = await conn.fetchval(
            "SELECT position FROM hookledger_checkpoints"
            " WHERE projection = $1 AND schema_name = $2 FOR UPDATE",
            spec.name,
            schema,
        )
        if position is None:
            raise LookupError(f"no checkpoint for {spec.name} in {schema}")
        positions.append(position)
    return positions


async def apply_to_targets(
    conn: Conn,
    targets: Sequence[tuple[ProjectionSpec, str]],
    positions: Sequence[int],
    events: Sequence[LoggedEvent],
    batch: Mapped,
) -> None:
    """Apply a mapped batch to each target (only events after its checkpoint) and move the
    checkpoints, inside the caller's transaction."""
    mapped, failed = batch
    for (spec, schema), position in zip(targets, positions, strict=True):
        if position < events[0].position:  # the usual case: the whole batch is new to it
            mine = batch
        else:
            mine = (
                [(e, f) for e, f in mapped if e.position > position],
                [(e, r) for e, r in failed if e.position > position],
            )
        await apply_mapped(conn, spec, schema, mine)
        await conn.execute(
            "UPDATE hookledger_checkpoints SET position = $3, updated_at = now()"
            " WHERE projection = $1 AND schema_name = $2",
            spec.name,
            schema,
            max(position, events[-1].position),
        )


async def active_schema(conn: Conn, projection: str, *, lock: bool) -> str:
    """The live generation's schema; with ``lock``, the projection row stays locked until the
    transaction ends, which serialises live steps, parked retries and rebuild swaps."""
    from projections.schema import schema_name

    generation = await conn.fetchval(
        "SELECT active_generation FROM hookledger_projections WHERE name = $1"
        + (" FOR UPDATE" if lock else ""),
        projection,
    )
    if generation is None:
        raise LookupError(f"projection {projection} is not set up (run hookledger migrate)")
    return schema_name(projection, generation)
