"""Slack Events API ``event_callback`` deliveries → facts; ``at`` is ``event_time``.

The logged event type is already the inner ``event.type``. ``team_join`` and ``user_change``
carry a full user object; its email is present only with the ``users:read.email`` scope.
"""

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
    name_or_none,
)
from domain.products import ProductCatalog
from domain.times import utc_from_unix

PROVIDER = "slack"


class _Profile(msgspec.Struct, gc=False):
    email: str | None = None
    real_name: str | None = None


class _User(msgspec.Struct, gc=False):
    id: NonEmptyStr
    real_name: str | None = None
    profile: _Profile | None = None


class _UserEvent(msgspec.Struct, gc=False):
    user: _User


class _Callback(msgspec.Struct, gc=False):
    event: _UserEvent
    event_time: object = None


_USER_CALLBACK = msgspec.json.Decoder(_Callback)


def _user(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    decoded = decode(_USER_CALLBACK, event)
    user = decoded.event.user
    profile = user.profile
    name = name_or_none(user.real_name)
    if name is None and profile is not None:
        name = name_or_none(profile.real_name)
    return [
        IdentitySeen(
            provider=PROVIDER,
            identity_id=user.id,
            email=normalise_email(profile.email) if profile is not None else None,
            name=name,
            deleted=None,
            at=event_time(utc_from_unix(decoded.event_time), event),
            event_key=event_key(event),
        )
    ]


_HANDLERS: dict[str, Callable[[LoggedEvent, ProductCatalog], list[Fact]]] = {
    "team_join": _user,
    "user_change": _user,
}

EVENT_TYPES = frozenset(_HANDLERS)


def facts_for(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    """The facts a Slack event states; ``[]`` for an unmapped event type."""
    handler = _HANDLERS.get(event.event_type)
    return handler(event, catalog) if handler is not None else []
