"""Pure evolution of a subscription, and the ``subscriptions`` row derived from it.

A subscription's state is the set of facts seen about it, kept sorted by ``(at, event_key)`` and
unique per (fact kind, event_key): adding a fact is a set union, so any permutation or repetition
of the same facts yields the same history, and everything derived from the history (status, email,
grants) is a pure function of that set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol, TypeVar

import msgspec

from domain.facts import PaymentObserved, SubscriptionLinked, SubscriptionObserved

SubscriptionFact = SubscriptionObserved | SubscriptionLinked | PaymentObserved
SubscriptionHistory = tuple[SubscriptionFact, ...]


class _Stamped(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def event_key(self) -> str: ...


F = TypeVar("F", bound=_Stamped)


def _order(fact: _Stamped) -> tuple[datetime, str, str]:
    return (fact.at, fact.event_key, type(fact).__name__)


def add_fact(history: tuple[F, ...], fact: F) -> tuple[F, ...]:
    """Set union of ``history`` and ``{fact}``, kept in canonical order."""
    return add_facts(history, (fact,))


def add_facts(history: tuple[F, ...], facts: Iterable[F]) -> tuple[F, ...]:
    """Set union of ``history`` and ``facts``, kept in canonical order (one sort per call)."""
    merged = {_order(f): f for f in history}
    size = len(merged)
    for fact in facts:
        merged.setdefault(_order(fact), fact)
    if len(merged) == size:
        return history
    return tuple(merged[k] for k in sorted(merged))


class Subscription(msgspec.Struct, frozen=True):
    """One row of ``subscriptions`` (``status`` None until a full state has been seen)."""

    provider: str
    subscription_id: str
    customer_id: str | None
    email: str | None
    status: str | None
    products: tuple[str, ...]
    current_period_end: datetime | None
    cancel_at_period_end: bool
    last_payment_succeeded: bool | None
    last_payment_at: datetime | None
    updated_at: datetime | None
    first_seen: datetime

    def row(self) -> tuple[object, ...]:
        """The column values of its ``subscriptions`` row, in field (= column) order."""
        values = msgspec.structs.astuple(self)
        products = self.__struct_fields__.index("products")
        return (*values[:products], list(self.products), *values[products + 1 :])


def customer_of(history: SubscriptionHistory) -> str | None:
    """The latest customer id any fact names."""
    ids = [f.customer_id for f in history if not isinstance(f, PaymentObserved) and f.customer_id]
    return ids[-1] if ids else None


def derive_subscription(
    provider: str,
    subscription_id: str,
    history: SubscriptionHistory,
    customer_emails: Mapping[str, str | None],
) -> Subscription:
    """``customer_emails`` maps customer ids to their current email (a customer's email wins
    over an email seen on the subscription or its checkout)."""
    states = [f for f in history if isinstance(f, SubscriptionObserved)]
    payments = [f for f in history if isinstance(f, PaymentObserved)]
    direct = [f.email for f in history if not isinstance(f, PaymentObserved) and f.email]
    customer_id = customer_of(history)
    email = (customer_emails.get(customer_id) if customer_id else None) or (
        direct[-1] if direct else None
    )
    last = states[-1] if states else None
    payment = payments[-1] if payments else None
    return Subscription(
        provider=provider,
        subscription_id=subscription_id,
        customer_id=customer_id,
        email=email,
        status=last.status if last else None,
        products=last.products if last else (),
        current_period_end=last.current_period_end if last else None,
        cancel_at_period_end=last.cancel_at_period_end if last else False,
        last_payment_succeeded=payment.succeeded if payment else None,
        last_payment_at=payment.at if payment else None,
        updated_at=last.at if last else None,
        first_seen=history[0].at,
    )
