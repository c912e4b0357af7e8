"""Reading the event log in position order, for projections.

Gap safety comes from the writers (positions become visible in commit order), so "the next
``limit`` events after ``position``" never skips an event that a later read would see.
"""

from __future__ import annotations

from datetime import datetime

from domain.log_record import LoggedEvent
from projections.db_types import Conn

_SELECT = (
    "SELECT notification_id, provider, event_id, event_type, occurred_at, received_at,"
    " state, body_offset FROM hookledger_events WHERE notification_id > $1"
)


async def read_after(
    conn: Conn, position: int, limit: int, as_of: datetime | None = None
) -> list[LoggedEvent]:
    if as_of is None:
        rows = await conn.fetch(_SELECT + " ORDER BY notification_id LIMIT $2", position, limit)
    else:
        rows = await conn.fetch(
            _SELECT + " AND coalesce(occurred_at, received_at) <= $3"
            " ORDER BY notification_id LIMIT $2",
            position,
            limit,
            as_of,
        )
    return [
        LoggedEvent(
            position=r[0],
            provider=r[1],
            event_id=r[2],
            event_type=r[3],
            occurred_at=r[4],
            received_at=r[5],
            body=r[6][r[7] : -1],
        )
        for r in rows
    ]


async def read_one(conn: Conn, position: int) -> LoggedEvent | None:
    events = await read_after(conn, position - 1, 1)
    return events[0] if events and events[0].position == position else None


async def head(conn: Conn) -> int:
    return int(
        await conn.fetchval("SELECT coalesce(max(notification_id), 0) FROM hookledger_events")
    )


async def count_after(conn: Conn, position: int, as_of: datetime | None = None) -> int:
    """How many events lie after ``position`` (positions have gaps: this is not head - position)."""
    if as_of is None:
        sql = "SELECT count(*) FROM hookledger_events WHERE notification_id > $1"
        return int(await conn.fetchval(sql, position))
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM hookledger_events WHERE notification_id > $1"
            " AND coalesce(occurred_at, received_at) <= $2",
            position,
            as_of,
        )
    )
