"""Stripe events → facts. The body is a Stripe Event ``{id, type, created, data: {object}}``;
``at`` is ``created``.

Covers API versions before and after 2025-03-31 ("basil"): a subscription's
``current_period_end`` moved from the subscription to its items, and an invoice's
``subscription`` moved to ``parent.subscription_details.subscription``. References
(``customer``, ``subscription``, ``price.product``) may be id strings or expanded objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import msgspec

from domain.facts import (
    SUBSCRIPTION_STATUSES,
    Fact,
    IdentitySeen,
    PaymentObserved,
    SubscriptionLinked,
    SubscriptionObserved,
    normalise_email,
)
from domain.log_record import LoggedEvent
from domain.mapping._common import (
    Expanded,
    NonEmptyStr,
    decode,
    event_key,
    event_time,
    fail,
    name_or_none,
    ref_id,
    shown,
    unix_field,
)
from domain.products import ProductCatalog
from domain.times import utc_from_unix

PROVIDER = "stripe"

T = TypeVar("T")

Ref = NonEmptyStr | Expanded

_STATUSES: dict[str, str] = {status: status for status in SUBSCRIPTION_STATUSES}
_STATUSES["incomplete_expired"] = "expired"


class _Data(msgspec.Struct, Generic[T], gc=False):
    object: T


class _Event(msgspec.Struct, Generic[T], gc=False):
    data: _Data[T]
    created: object = None


class _Customer(msgspec.Struct, gc=False):
    id: NonEmptyStr
    email: str | None = None
    name: str | None = None


class _CustomerDetails(msgspec.Struct, gc=False):
    email: str | None = None
    name: str | None = None


class _CheckoutSession(msgspec.Struct, gc=False):
    customer: Ref | None = None
    customer_details: _CustomerDetails | None = None
    customer_email: str | None = None
    subscription: Ref | None = None


class _Price(msgspec.Struct, gc=False):
    id: NonEmptyStr
    product: Ref | None = None


class _Item(msgspec.Struct, gc=False):
    price: _Price | None = None
    plan: _Price | None = None
    """Pre-2020 API versions: the item's plan, shaped like a price for what we read."""
    current_period_end: int | None = None
    """API 2025-03-31 and later."""


class _Items(msgspec.Struct, gc=False):
    data: list[_Item]


class _Subscription(msgspec.Struct, kw_only=True, gc=False):
    id: NonEmptyStr
    customer: Ref | None = None
    status: str
    cancel_at_period_end: bool = False
    current_period_end: int | None = None
    """Before API 2025-03-31."""
    items: _Items


class _SubscriptionDetails(msgspec.Struct, gc=False):
    subscription: Ref | None = None


class _InvoiceParent(msgspec.Struct, gc=False):
    subscription_details: _SubscriptionDetails | None = None


class _Invoice(msgspec.Struct, gc=False):
    customer: Ref | None = None
    customer_email: str | None = None
    subscription: Ref | None = None
    parent: _InvoiceParent | None = None


_CUSTOMER = msgspec.json.Decoder(_Event[_Customer])
_CHECKOUT = msgspec.json.Decoder(_Event[_CheckoutSession])
_SUBSCRIPTION = msgspec.json.Decoder(_Event[_Subscription])
_INVOICE = msgspec.json.Decoder(_Event[_Invoice])


def _customer(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    decoded = decode(_CUSTOMER, event)
    customer = decoded.data.object
    return [
        IdentitySeen(
            provider=PROVIDER,
            identity_id=customer.id,
            email=normalise_email(customer.email),
            name=name_or_none(customer.name),
            deleted=None,
            at=event_time(utc_from_unix(decoded.created), event),
            event_key=event_key(event),
        )
    ]


def _checkout_completed(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    decoded = decode(_CHECKOUT, event)
    session = decoded.data.object
    details = session.customer_details
    email = normalise_email(details.email) if details is not None else None
    if email is None:
        email = normalise_email(session.customer_email)
    customer_id = ref_id(session.customer)
    subscription_id = ref_id(session.subscription)
    at = event_time(utc_from_unix(decoded.created), event)
    key = event_key(event)
    facts: list[Fact] = []
    if customer_id is not None and email is not None:
        name = name_or_none(details.name) if details is not None else None
        facts.append(IdentitySeen(PROVIDER, customer_id, email, name, None, at, key))
    if subscription_id is not None:
        facts.append(SubscriptionLinked(PROVIDER, subscription_id, customer_id, email, at, key))
    return facts


def _subscription(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    decoded = decode(_SUBSCRIPTION, event)
    sub = decoded.data.object
    if event.event_type == "customer.subscription.deleted":
        status = "canceled"
    else:
        normalised = _STATUSES.get(sub.status)
        if normalised is None:
            fail(event, f"unknown subscription status {shown(sub.status)}")
        status = normalised
    products: set[str] = set()
    item_period_end: int | None = None
    for item in sub.items.data:
        price = item.price if item.price is not None else item.plan
        if price is None:
            fail(event, "subscription item without a price")
        products.add(catalog.key_for(PROVIDER, price.id, ref_id(price.product)))
        if item.current_period_end is not None and (
            item_period_end is None or item.current_period_end > item_period_end
        ):
            item_period_end = item.current_period_end
    period_end = sub.current_period_end if sub.current_period_end is not None else item_period_end
    return [
        SubscriptionObserved(
            provider=PROVIDER,
            subscription_id=sub.id,
            customer_id=ref_id(sub.customer),
            email=None,
            status=status,
            products=tuple(sorted(products)),
            current_period_end=unix_field(event, period_end, "current_period_end"),
            cancel_at_period_end=sub.cancel_at_period_end,
            at=event_time(utc_from_unix(decoded.created), event),
            event_key=event_key(event),
        )
    ]


def _invoice(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    decoded = decode(_INVOICE, event)
    invoice = decoded.data.object
    subscription_id = ref_id(invoice.subscription)
    if subscription_id is None and invoice.parent is not None:
        details = invoice.parent.subscription_details
        if details is not None:
            subscription_id = ref_id(details.subscription)
    if subscription_id is None:
        return []  # a one-off invoice: no subscription to speak of
    at = event_time(utc_from_unix(decoded.created), event)
    key = event_key(event)
    facts: list[Fact] = []
    customer_id = ref_id(invoice.customer)
    email = normalise_email(invoice.customer_email)
    if customer_id is not None and email is not None:
        facts.append(IdentitySeen(PROVIDER, customer_id, email, None, None, at, key))
    succeeded = event.event_type == "invoice.paid"
    facts.append(PaymentObserved(PROVIDER, subscription_id, succeeded, at, key))
    return facts


_HANDLERS: dict[str, Callable[[LoggedEvent, ProductCatalog], list[Fact]]] = {
    "customer.created": _customer,
    "customer.updated": _customer,
    "checkout.session.completed": _checkout_completed,
    "customer.subscription.created": _subscription,
    "customer.subscription.updated": _subscription,
    "customer.subscription.deleted": _subscription,
    "invoice.paid": _invoice,
    "invoice.payment_failed": _invoice,
}

EVENT_TYPES = frozenset(_HANDLERS)


def facts_for(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    """The facts a Stripe event states; ``[]`` for an unmapped event type."""
    handler = _HANDLERS.get(event.event_type)
    return handler(event, catalog) if handler is not None else []
