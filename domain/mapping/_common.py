"""Helpers shared by the provider mappings: typed decoding, provider times, event keys.

Decoding goes straight into small msgspec Structs that declare only the fields a mapping reads
(``gc=False``: decoded JSON never forms reference cycles). Unknown fields are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, NoReturn, TypeVar

import msgspec

from domain.errors import MappingError
from domain.log_record import LoggedEvent
from domain.times import as_utc, utc_from_iso, utc_from_unix

T = TypeVar("T")

NonEmptyStr = Annotated[str, msgspec.Meta(min_length=1)]
"""A string id: an empty one fails typed decoding like a missing one."""

_MAX_SHOWN = 40


class Expanded(msgspec.Struct, gc=False):
    """An expanded object where an id string is usual (Stripe ``expand[]``)."""

    id: NonEmptyStr


def ref_id(value: str | Expanded | None) -> str | None:
    """The id of a reference that is an id string, an expanded object or absent."""
    if value is None or isinstance(value, str):
        return value
    return value.id


def id_text(value: int | str) -> str:
    """A provider id that is a JSON number or string, as text."""
    return value if isinstance(value, str) else str(value)


def fail(event: LoggedEvent, reason: str) -> NoReturn:
    raise MappingError(f"{event.provider} {event.event_type}: {reason}")


def shown(value: str) -> str:
    """A provider value short enough to quote in an error message."""
    return repr(value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "…")


def decode(decoder: msgspec.json.Decoder[T], event: LoggedEvent) -> T:
    """The decoded body; MappingError, naming msgspec's path, when it does not fit."""
    try:
        return decoder.decode(event.body)
    except msgspec.ValidationError as exc:
        fail(event, f"unexpected payload shape: {exc}")
    except msgspec.DecodeError:
        fail(event, "body is not valid JSON")


def unix_field(event: LoggedEvent, value: int | None, name: str) -> datetime | None:
    """An optional unix-seconds field: None stays None, an out-of-range value is a MappingError."""
    if value is None:
        return None
    parsed = utc_from_unix(value)
    if parsed is None:
        fail(event, f"{name} is not a usable unix time")
    return parsed


def iso_field(event: LoggedEvent, value: str | None, name: str) -> datetime | None:
    """An optional ISO 8601 field: None stays None, an unparseable value is a MappingError."""
    if value is None:
        return None
    parsed = utc_from_iso(value)
    if parsed is None:
        fail(event, f"{name} is not an ISO 8601 time")
    return parsed


def event_time(provider_time: datetime | None, event: LoggedEvent) -> datetime:
    """A fact's ``at``: the provider's time for the event, else the logged occurred_at,
    else the time the delivery was received."""
    if provider_time is not None:
        return provider_time
    if event.occurred_at is not None:
        return as_utc(event.occurred_at)
    return as_utc(event.received_at)


def event_key(event: LoggedEvent) -> str:
    return f"{event.provider}:{event.event_id}"


def name_or_none(value: str | None) -> str | None:
    """A display name, with an empty string meaning unknown."""
    return value or None
