"""Lemon Squeezy events → facts. The body is ``{meta: {event_name, …}, data: {type, id,
attributes}}`` (JSON:API); ``at`` is ``attributes.updated_at``, else ``attributes.created_at``.

Ids are JSON numbers in ``attributes`` and strings in ``data.id``; both forms are accepted
everywhere and become text. The event type is the logged one (``meta.event_name``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

import msgspec

from domain.facts import (
    Fact,
    IdentitySeen,
    OrderObserved,
    PaymentObserved,
    SubscriptionObserved,
    normalise_email,
)
from domain.log_record import LoggedEvent
from domain.mapping._common import (
    NonEmptyStr,
    decode,
    event_key,
    event_time,
    fail,
    id_text,
    iso_field,
    name_or_none,
    shown,
)
from domain.products import ProductCatalog
from domain.times import utc_from_iso

PROVIDER = "lemonsqueezy"

T = TypeVar("T")

Id = int | NonEmptyStr

_STATUSES = {
    "on_trial": "trialing",
    "active": "active",
    "paused": "paused",
    "past_due": "past_due",
    "unpaid": "unpaid",
    "cancelled": "canceled",
    "expired": "expired",
}
_PAID_ORDER_STATUSES = frozenset({"paid", "partial_refund", "refunded"})
_SUBSCRIPTION_CHANGES = (
    "created",
    "updated",
    "cancelled",
    "resumed",
    "expired",
    "paused",
    "unpaused",
)
_PAYMENT_SUCCEEDED = {
    "subscription_payment_success": True,
    "subscription_payment_recovered": True,
    "subscription_payment_failed": False,
}


class _Data(msgspec.Struct, Generic[T], gc=False):
    id: Id
    attributes: T


class _Body(msgspec.Struct, Generic[T], gc=False):
    data: _Data[T]


class _Customer(msgspec.Struct, kw_only=True, gc=False):
    """Attributes every mapped resource has: the customer and the resource's times."""

    customer_id: Id | None = None
    user_email: str | None = None
    user_name: str | None = None
    created_at: object = None
    updated_at: object = None


class _OrderItem(msgspec.Struct, gc=False):
    product_id: Id | None = None
    variant_id: Id | None = None


class _Order(_Customer, kw_only=True, gc=False):
    status: str
    refunded: bool | None = None
    first_order_item: _OrderItem


class _Subscription(_Customer, kw_only=True, gc=False):
    status: str
    product_id: Id | None = None
    variant_id: Id | None = None
    cancelled: bool | None = None
    renews_at: str | None = None
    ends_at: str | None = None


class _SubscriptionInvoice(_Customer, kw_only=True, gc=False):
    subscription_id: Id


_ORDER = msgspec.json.Decoder(_Body[_Order])
_SUBSCRIPTION = msgspec.json.Decoder(_Body[_Subscription])
_SUBSCRIPTION_INVOICE = msgspec.json.Decoder(_Body[_SubscriptionInvoice])


def _at(attributes: _Customer, event: LoggedEvent) -> datetime:
    provider_time = utc_from_iso(attributes.updated_at) or utc_from_iso(attributes.created_at)
    return event_time(provider_time, event)


def _product(
    event: LoggedEvent, catalog: ProductCatalog, variant_id: Id | None, product_id: Id | None
) -> tuple[str, ...]:
    if variant_id is None and product_id is None:
        fail(event, "neither a variant_id nor a product_id")
    return (
        catalog.key_for(
            PROVIDER,
            id_text(variant_id) if variant_id is not None else None,
            id_text(product_id) if product_id is not None else None,
        ),
    )


def _identity(attributes: _Customer, at: datetime, key: str) -> list[Fact]:
    """The customer as an IdentitySeen, when the payload names one."""
    if attributes.customer_id is None:
        return []
    return [
        IdentitySeen(
            provider=PROVIDER,
            identity_id=id_text(attributes.customer_id),
            email=normalise_email(attributes.user_email),
            name=name_or_none(attributes.user_name),
            deleted=None,
            at=at,
            event_key=key,
        )
    ]


def _order(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    data = decode(_ORDER, event).data
    order = data.attributes
    item = order.first_order_item
    at = _at(order, event)
    key = event_key(event)
    facts = _identity(order, at, key)
    facts.append(
        OrderObserved(
            provider=PROVIDER,
            order_id=id_text(data.id),
            customer_id=id_text(order.customer_id) if order.customer_id is not None else None,
            email=normalise_email(order.user_email),
            products=_product(event, catalog, item.variant_id, item.product_id),
            paid=order.status in _PAID_ORDER_STATUSES,
            refunded=(
                order.refunded is True
                or order.status == "refunded"
                or event.event_type == "order_refunded"
            ),
            at=at,
            event_key=key,
        )
    )
    return facts


def _subscription(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    data = decode(_SUBSCRIPTION, event).data
    sub = data.attributes
    status = _STATUSES.get(sub.status)
    if status is None:
        fail(event, f"unknown subscription status {shown(sub.status)}")
    period_end = iso_field(event, sub.ends_at, "ends_at") or iso_field(
        event, sub.renews_at, "renews_at"
    )
    at = _at(sub, event)
    key = event_key(event)
    facts = _identity(sub, at, key)
    facts.append(
        SubscriptionObserved(
            provider=PROVIDER,
            subscription_id=id_text(data.id),
            customer_id=id_text(sub.customer_id) if sub.customer_id is not None else None,
            email=normalise_email(sub.user_email),
            status=status,
            products=_product(event, catalog, sub.variant_id, sub.product_id),
            current_period_end=period_end,
            cancel_at_period_end=sub.cancelled is True,
            at=at,
            event_key=key,
        )
    )
    return facts


def _subscription_payment(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    invoice = decode(_SUBSCRIPTION_INVOICE, event).data.attributes
    at = _at(invoice, event)
    key = event_key(event)
    facts = _identity(invoice, at, key)
    facts.append(
        PaymentObserved(
            provider=PROVIDER,
            subscription_id=id_text(invoice.subscription_id),
            succeeded=_PAYMENT_SUCCEEDED[event.event_type],
            at=at,
            event_key=key,
        )
    )
    return facts


_HANDLERS: dict[str, Callable[[LoggedEvent, ProductCatalog], list[Fact]]] = {
    "order_created": _order,
    "order_refunded": _order,
    **{f"subscription_{change}": _subscription for change in _SUBSCRIPTION_CHANGES},
    **dict.fromkeys(_PAYMENT_SUCCEEDED, _subscription_payment),
}

EVENT_TYPES = frozenset(_HANDLERS)


def facts_for(event: LoggedEvent, catalog: ProductCatalog) -> list[Fact]:
    """The facts a Lemon Squeezy event states; ``[]`` for an unmapped event type."""
    handler = _HANDLERS.get(event.event_type)
    return handler(event, catalog) if handler is not None else []
