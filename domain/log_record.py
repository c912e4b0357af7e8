"""How one verified delivery becomes one row of the event log, and how a row reads back.

Pure: no I/O, no clock. The ``state`` bytes follow eventsourcing 9.5.x's JSON transcoder format
(``{"_type_": ..., "_data_": ...}`` for datetimes) so the library's mapper decodes every row into a
``WebhookReceived`` whose ``payload`` is the parsed body. The raw body is spliced in unchanged:

    state = <JSON object prefix ending in ,"payload":> || raw body || b"}"

so it is stored once and byte for byte, from ``body_offset`` to the last byte but one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

# Fixed forever: changing it would give every stored event a different originator_id.
EVENT_NAMESPACE = uuid.UUID("0f6a3c6e-6b1f-5d8a-9a44-1d5ad2f0c0de")
TOPIC = "domain.log_record:WebhookReceived"


class WebhookReceived:
    """The library-side view of a logged delivery (attributes set by the library's mapper):
    originator_id, originator_version, timestamp (received at), provider, event_id, event_type,
    occurred_at, payload."""

    originator_id: uuid.UUID
    originator_version: int
    timestamp: datetime
    provider: str
    event_id: str
    event_type: str
    occurred_at: datetime | None
    payload: Any


def originator_id(provider: str, event_id: str) -> uuid.UUID:
    """The deterministic stream id of a delivery: equal keys give equal ids."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{provider}:{event_id}")


def _iso(value: datetime) -> dict[str, str]:
    return {"_type_": "datetime_iso", "_data_": value.isoformat()}


_ENCODER = msgspec.json.Encoder()


def encode_state(
    *,
    provider: str,
    event_id: str,
    event_type: str,
    occurred_at: datetime | None,
    received_at: datetime,
    body: bytes,
) -> tuple[bytes, int]:
    """Returns ``(state, body_offset)``. ``body`` must be a verified, valid JSON document."""
    head = _ENCODER.encode(
        {
            "timestamp": _iso(received_at),
            "provider": provider,
            "event_id": event_id,
            "event_type": event_type,
            "occurred_at": _iso(occurred_at) if occurred_at is not None else None,
        }
    )
    prefix = head[:-1] + b',"payload":'
    return prefix + body + b"}", len(prefix)


def raw_body(state: bytes, body_offset: int) -> bytes:
    """The raw body exactly as received."""
    return state[body_offset:-1]


class LoggedEvent(msgspec.Struct, frozen=True):
    """One event as projections read it from the log."""

    position: int
    provider: str
    event_id: str
    event_type: str
    occurred_at: datetime | None
    received_at: datetime
    body: bytes
