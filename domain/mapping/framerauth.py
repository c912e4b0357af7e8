"""FramerAuth (Standard Webhooks) events → facts. The body is ``{type, timestamp, data}``;
``at`` is the ISO 8601 ``timestamp``. A deleted user's payload may lack the email."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from domain.facts import Fact, IdentitySeen, normalise_email
from domain.log_record import LoggedEvent
from domain.mapping._common import (
    NonEmptyStr,
    decode,
    event_key,
    event_time,
    id_text,
    name_or_none,
)
from domain.products import ProductCatalog
from domain.times import utc_from_iso

PROVIDER = "framerauth"


class _User(msgspec.Struct, gc=False):
    id: int | NonEmptyStr
    email: str | None = None
    name: str | None = None


class _Body(msgspec.Struct, gc=False):
    data: _User
    timestamp: object = None


_USER = msgspec.json.Decoder(_Body)


def _user(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    decoded = decode(_USER, event)
    user = decoded.data
    return [
        IdentitySeen(
            provider=PROVIDER,
            identity_id=id_text(user.id),
            email=normalise_email(user.email),
            name=name_or_none(user.name),
            deleted=event.event_type == "user.deleted",
            at=event_time(utc_from_iso(decoded.timestamp), event),
            event_key=event_key(event),
        )
    ]


_HANDLERS: dict[str, Callable[[LoggedEvent, ProductCatalog], list[Fact]]] = {
    "user.created": _user,
    "user.updated": _user,
    "user.deleted": _user,
}

EVENT_TYPES = frozenset(_HANDLERS)


def facts_for(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    """The facts a FramerAuth event states; ``[]`` for an unmapped event type."""
    handler = _HANDLERS.get(event.event_type)
    return handler(event, catalog) if handler is not None else []
