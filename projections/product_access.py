"""Pure derivation of product access from subscription and order histories.

A grant source (a subscription or a one-time order) grants product P at a point of its history
when that fact grants P: a subscription in trialing/active/past_due whose products include P, or a
paid order for P not refunded (a refund is final). Over the canonical, sorted history:
  * first granted = time of the first fact granting P;
  * active = the last fact grants P;
  * revoked = time of the first fact after the last granting one (when not active).
``product_access`` aggregates the sources of one (email, product): active while any source is,
granted at the earliest grant, revoked at the latest revocation. All of it is a pure function of
the fact sets, so delivery order cannot change it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TypeVar

import msgspec

from domain.facts import GRANTING_STATUSES, OrderObserved, SubscriptionObserved

OrderHistory = tuple[OrderObserved, ...]


class Grant(msgspec.Struct, frozen=True, array_like=True):
    """What one source does for one product."""

    product: str
    first_granted: datetime
    active: bool
    revoked: datetime | None


S = TypeVar("S", SubscriptionObserved, OrderObserved)


def _grants(entries: Sequence[S], grants: Callable[[S, str], bool]) -> tuple[Grant, ...]:
    products = sorted({p for e in entries for p in e.products})
    result = []
    for product in products:
        flags = [grants(e, product) for e in entries]
        if not any(flags):
            continue
        first = flags.index(True)
        last = len(flags) - 1 - flags[::-1].index(True)
        active = last == len(flags) - 1
        revoked = None if active else entries[last + 1].at
        result.append(Grant(product, entries[first].at, active, revoked))
    return tuple(result)


def subscription_grants(states: Sequence[SubscriptionObserved]) -> tuple[Grant, ...]:
    """``states``: the subscription's full-state facts in canonical order."""
    return _grants(states, lambda e, p: e.status in GRANTING_STATUSES and p in e.products)


def order_grants(history: OrderHistory) -> tuple[Grant, ...]:
    refunded_from = next((e.at for e in history if e.refunded), None)

    def grants(e: OrderObserved, product: str) -> bool:
        after_refund = refunded_from is not None and e.at >= refunded_from
        return e.paid and not e.refunded and not after_refund and product in e.products

    return _grants(history, grants)


def order_customer_and_email(history: OrderHistory) -> tuple[str | None, str | None]:
    customers = [e.customer_id for e in history if e.customer_id]
    emails = [e.email for e in history if e.email]
    return (customers[-1] if customers else None, emails[-1] if emails else None)


class SourceGrants(msgspec.Struct, frozen=True):
    """A source's grants as stored next to its resolved email."""

    source: str
    """``"{provider}:{id}"``."""
    kind: str
    """``subscription`` or ``order``."""
    grants: tuple[Grant, ...]


class Access(msgspec.Struct, frozen=True):
    """One row of ``product_access``."""

    email: str
    product: str
    active: bool
    granted_at: datetime
    revoked_at: datetime | None
    subscriptions: tuple[str, ...]
    orders: tuple[str, ...]


def derive_access(email: str, product: str, sources: Iterable[SourceGrants]) -> Access | None:
    """Aggregate every source of ``email`` for ``product``; None when none ever granted it."""
    found = [(s, g) for s in sources for g in s.grants if g.product == product]
    if not found:
        return None
    active_sources = [(s, g) for s, g in found if g.active]
    revocations = [g.revoked for _, g in found if g.revoked is not None]
    return Access(
        email=email,
        product=product,
        active=bool(active_sources),
        granted_at=min(g.first_granted for _, g in found),
        revoked_at=None if active_sources else max(revocations, default=None),
        subscriptions=tuple(
            sorted(s.source for s, _ in active_sources if s.kind == "subscription")
        ),
        orders=tuple(sorted(s.source for s, _ in active_sources if s.kind == "order")),
    )
