"""Domain facts: what a provider event means, independent of the provider's wire format.

Mapping functions (``domain.mapping``) turn one logged event into zero or more facts; projections
fold facts into read models. Every fact carries the provider's time ``at`` and a deterministic
``event_key`` (``"{provider}:{event_id}"``): ``(at, event_key)`` decides which of two facts about
the same thing wins, so the result never depends on delivery order.

Normalisation invariants: emails are trimmed and lower-case; subscription statuses are one of
``SUBSCRIPTION_STATUSES``; product keys come from the product catalogue; times are UTC-aware.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

SUBSCRIPTION_STATUSES = (
    "trialing",
    "active",
    "past_due",
    "paused",
    "canceled",
    "expired",
    "unpaid",
    "incomplete",
)
GRANTING_STATUSES = frozenset({"trialing", "active", "past_due"})


class IdentitySeen(msgspec.Struct, frozen=True, tag=True):
    """A provider identity (Stripe/Lemon Squeezy customer, Slack or FramerAuth user) was seen,
    with its email when the event carries one and its name when known."""

    provider: str
    identity_id: str
    email: str | None
    name: str | None
    deleted: bool | None
    """True for FramerAuth ``user.deleted``, False for its other lifecycle events, else None."""
    at: datetime
    event_key: str


class SubscriptionObserved(msgspec.Struct, frozen=True, tag=True):
    """The full state of a subscription as of ``at``."""

    provider: str
    subscription_id: str
    customer_id: str | None
    email: str | None
    status: str
    products: tuple[str, ...]
    current_period_end: datetime | None
    cancel_at_period_end: bool
    at: datetime
    event_key: str


class SubscriptionLinked(msgspec.Struct, frozen=True, tag=True):
    """A checkout tied a subscription to a customer and/or an email."""

    provider: str
    subscription_id: str
    customer_id: str | None
    email: str | None
    at: datetime
    event_key: str


class PaymentObserved(msgspec.Struct, frozen=True, tag=True):
    """A subscription payment succeeded or failed."""

    provider: str
    subscription_id: str
    succeeded: bool
    at: datetime
    event_key: str


class OrderObserved(msgspec.Struct, frozen=True, tag=True):
    """A one-time order's state as of ``at``; ``refunded`` is final once seen."""

    provider: str
    order_id: str
    customer_id: str | None
    email: str | None
    products: tuple[str, ...]
    paid: bool
    refunded: bool
    at: datetime
    event_key: str


Fact = IdentitySeen | SubscriptionObserved | SubscriptionLinked | PaymentObserved | OrderObserved


def normalise_email(raw: object) -> str | None:
    """Trimmed, lower-case email, or None when absent or not an email-looking string."""
    if not isinstance(raw, str):
        return None
    email = raw.strip().lower()
    return email if "@" in email else None
