"""Provider timestamps to UTC-aware datetimes, shared by the adapters and the mappings.

Lenient by design: a value that is absent, of the wrong type or out of range gives None, and the
caller decides whether that is an error.
"""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """``value`` as a UTC-aware datetime (naive means UTC)."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utc_from_unix(value: object) -> datetime | None:
    """From integer unix seconds (bool excluded); None if absent or out of range."""
    if type(value) is not int:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def utc_from_iso(value: object) -> datetime | None:
    """From an ISO 8601 string (naive means UTC); None if absent or unparseable."""
    if not isinstance(value, str):
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except (OverflowError, ValueError):
        return None
