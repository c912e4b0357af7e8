"""Provider events → domain facts (``domain.facts``), one module per provider.

``facts_for`` is pure and deterministic: the same logged event and catalogue always give the
same facts. An event type a provider module does not map gives ``[]``; an event of a mapped type
that lacks what its mapping needs raises ``domain.errors.MappingError``. Within one event,
identity facts come before the facts about what that identity owns or paid for.
"""

from __future__ import annotations

from collections.abc import Callable

from domain.facts import Fact
from domain.log_record import LoggedEvent
from domain.mapping import framerauth, lemonsqueezy, slack, stripe
from domain.products import ProductCatalog

__all__ = ["MAPPED_EVENT_TYPES", "facts_for"]

_MAPPERS: dict[str, Callable[[LoggedEvent, ProductCatalog], list[Fact]]] = {
    stripe.PROVIDER: stripe.facts_for,
    lemonsqueezy.PROVIDER: lemonsqueezy.facts_for,
    slack.PROVIDER: slack.facts_for,
    framerauth.PROVIDER: framerauth.facts_for,
}

MAPPED_EVENT_TYPES: dict[str, frozenset[str]] = {
    stripe.PROVIDER: stripe.EVENT_TYPES,
    lemonsqueezy.PROVIDER: lemonsqueezy.EVENT_TYPES,
    slack.PROVIDER: slack.EVENT_TYPES,
    framerauth.PROVIDER: framerauth.EVENT_TYPES,
}
"""Provider → the event types that produce facts (every other type maps to ``[]``)."""


def facts_for(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    """The facts one logged event states, in a fixed order; ``[]`` for an unmapped
    provider or event type. Raises MappingError for a mapped type it cannot map."""
    mapper = _MAPPERS.get(event.provider)
    return mapper(event, catalog) if mapper is not None else []
