"""Lemon Squeezy events → facts, from payloads shaped like Lemon Squeezy's documented
webhook bodies (JSON:API ``{meta, data: {type, id, attributes}}``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.errors import MappingError
from domain.facts import IdentitySeen, OrderObserved, PaymentObserved, SubscriptionObserved
from domain.log_record import LoggedEvent
from domain.mapping import MAPPED_EVENT_TYPES, facts_for
from domain.products import ProductCatalog

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events" / "lemonsqueezy"
RECEIVED = datetime(2030, 1, 1, tzinfo=UTC)
CATALOG = ProductCatalog(
    {"lemonsqueezy": {"4521": "course", "301122": "course-bundle", "301500": "cloud"}}
)
EVENT_ID = "ls-event-0001"
KEY = f"lemonsqueezy:{EVENT_ID}"

MARY = "3318867"
EMILIE = "3320001"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return loaded


def logged(
    body: dict[str, Any], *, event_type: str | None = None, occurred_at: datetime | None = None
) -> LoggedEvent:
    return LoggedEvent(
        position=3,
        provider="lemonsqueezy",
        event_id=EVENT_ID,
        event_type=event_type or body["meta"]["event_name"],
        occurred_at=occurred_at,
        received_at=RECEIVED,
        body=json.dumps(body).encode(),
    )


def facts(body: dict[str, Any], catalog: ProductCatalog = CATALOG, **kw: Any) -> list[Any]:
    return list(facts_for(logged(body, **kw), catalog))


def attributes(body: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = body["data"]["attributes"]
    return attrs


def the(kind: type[Any], found: list[Any]) -> Any:
    [fact] = [fact for fact in found if isinstance(fact, kind)]
    return fact


# --- orders --------------------------------------------------------------------------------


def test_order_created() -> None:
    at = datetime(2024, 5, 24, 14, 12, 1, tzinfo=UTC)
    assert facts(fixture("order_created")) == [
        IdentitySeen(
            "lemonsqueezy", MARY, "mary.somerville@example.com", "Mary Somerville", None, at, KEY
        ),
        OrderObserved(
            provider="lemonsqueezy",
            order_id="2894312",
            customer_id=MARY,
            email="mary.somerville@example.com",
            products=("course",),
            paid=True,
            refunded=False,
            at=at,
            event_key=KEY,
        ),
    ]


def test_order_refunded() -> None:
    at = datetime(2024, 5, 28, 9, 30, 12, tzinfo=UTC)
    assert facts(fixture("order_refunded")) == [
        IdentitySeen(
            "lemonsqueezy", MARY, "mary.somerville@example.com", "Mary Somerville", None, at, KEY
        ),
        OrderObserved(
            provider="lemonsqueezy",
            order_id="2894312",
            customer_id=MARY,
            email="mary.somerville@example.com",
            products=("course",),
            paid=True,
            refunded=True,
            at=at,
            event_key=KEY,
        ),
    ]


@pytest.mark.parametrize(
    ("event_type", "status", "refunded_flag", "paid", "refunded"),
    [
        ("order_created", "pending", False, False, False),
        ("order_created", "failed", False, False, False),
        ("order_created", "paid", False, True, False),
        ("order_created", "partial_refund", False, True, False),
        ("order_created", "partial_refund", True, True, True),
        ("order_created", "refunded", False, True, True),
        ("order_refunded", "partial_refund", False, True, True),
        ("order_refunded", "paid", None, True, True),
    ],
)
def test_order_paid_and_refunded(
    event_type: str, status: str, refunded_flag: bool | None, paid: bool, refunded: bool
) -> None:
    body = fixture("order_created")
    attributes(body).update(status=status, refunded=refunded_flag)
    order = the(OrderObserved, facts(body, event_type=event_type))
    assert (order.paid, order.refunded) == (paid, refunded)


def test_order_product_key_precedence() -> None:
    body = fixture("order_created")
    assert the(OrderObserved, facts(body, ProductCatalog.empty())).products == (
        "lemonsqueezy:301122",
    )
    attributes(body)["first_order_item"]["variant_id"] = 9999
    assert the(OrderObserved, facts(body)).products == ("course-bundle",)
    del attributes(body)["first_order_item"]["product_id"]
    assert the(OrderObserved, facts(body)).products == ("lemonsqueezy:9999",)


def test_order_without_customer_has_no_identity() -> None:
    body = fixture("order_created")
    del attributes(body)["customer_id"]
    [order] = facts(body)
    assert isinstance(order, OrderObserved)
    assert order.customer_id is None
    assert order.email == "mary.somerville@example.com"


def test_string_ids_are_accepted() -> None:
    body = fixture("order_created")
    attributes(body)["customer_id"] = MARY
    attributes(body)["first_order_item"].update(variant_id="4521", product_id="301122")
    assert facts(body) == facts(fixture("order_created"))


# --- subscriptions -------------------------------------------------------------------------


def test_subscription_created_on_trial() -> None:
    at = datetime(2024, 5, 24, 14, 15, 6, tzinfo=UTC)
    assert facts(fixture("subscription_created_on_trial")) == [
        IdentitySeen(
            "lemonsqueezy", EMILIE, "emilie@example.fr", "Émilie du Châtelet", None, at, KEY
        ),
        SubscriptionObserved(
            provider="lemonsqueezy",
            subscription_id="512300",
            customer_id=EMILIE,
            email="emilie@example.fr",
            status="trialing",
            products=("cloud",),
            current_period_end=datetime(2024, 6, 7, 14, 15, 4, tzinfo=UTC),
            cancel_at_period_end=False,
            at=at,
            event_key=KEY,
        ),
    ]


def test_subscription_cancelled_ends_at_ends_at() -> None:
    at = datetime(2024, 7, 2, 8, 1, 45, tzinfo=UTC)
    assert facts(fixture("subscription_cancelled")) == [
        IdentitySeen(
            "lemonsqueezy", EMILIE, "emilie@example.fr", "Émilie du Châtelet", None, at, KEY
        ),
        SubscriptionObserved(
            provider="lemonsqueezy",
            subscription_id="512300",
            customer_id=EMILIE,
            email="emilie@example.fr",
            status="canceled",
            products=("cloud",),
            current_period_end=datetime(2024, 7, 24, 14, 15, 4, tzinfo=UTC),
            cancel_at_period_end=True,
            at=at,
            event_key=KEY,
        ),
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("on_trial", "trialing"),
        ("active", "active"),
        ("paused", "paused"),
        ("past_due", "past_due"),
        ("unpaid", "unpaid"),
        ("cancelled", "canceled"),
        ("expired", "expired"),
    ],
)
@pytest.mark.parametrize(
    "event_type",
    sorted(
        t
        for t in MAPPED_EVENT_TYPES["lemonsqueezy"]
        if t.startswith("subscription_") and "payment" not in t
    ),
)
def test_subscription_statuses(event_type: str, status: str, expected: str) -> None:
    body = fixture("subscription_created_on_trial")
    attributes(body)["status"] = status
    assert the(SubscriptionObserved, facts(body, event_type=event_type)).status == expected


@pytest.mark.parametrize("status", ["canceled", "trialing", "incomplete", "Active", ""])
def test_unknown_subscription_status_is_a_mapping_error(status: str) -> None:
    body = fixture("subscription_created_on_trial")
    attributes(body)["status"] = status
    with pytest.raises(MappingError, match="unknown subscription status"):
        facts(body)


def test_subscription_without_renewal_or_end() -> None:
    body = fixture("subscription_created_on_trial")
    attributes(body).update(renews_at=None, ends_at=None, cancelled=None)
    sub = the(SubscriptionObserved, facts(body))
    assert (sub.current_period_end, sub.cancel_at_period_end) == (None, False)


# --- subscription payments -----------------------------------------------------------------


def test_subscription_payment_success() -> None:
    at = datetime(2024, 6, 24, 14, 15, 9, tzinfo=UTC)
    assert facts(fixture("subscription_payment_success")) == [
        IdentitySeen(
            "lemonsqueezy", EMILIE, "emilie@example.fr", "Émilie du Châtelet", None, at, KEY
        ),
        PaymentObserved("lemonsqueezy", "512300", True, at, KEY),
    ]


def test_subscription_payment_failed() -> None:
    at = datetime(2024, 7, 24, 14, 15, 11, tzinfo=UTC)
    assert facts(fixture("subscription_payment_failed")) == [
        IdentitySeen(
            "lemonsqueezy", EMILIE, "emilie@example.fr", "Émilie du Châtelet", None, at, KEY
        ),
        PaymentObserved("lemonsqueezy", "512300", False, at, KEY),
    ]


def test_subscription_payment_recovered_is_a_success() -> None:
    body = fixture("subscription_payment_failed")
    payment = the(PaymentObserved, facts(body, event_type="subscription_payment_recovered"))
    assert payment.succeeded is True


# --- times, unmapped types, broken payloads ------------------------------------------------


def test_at_is_updated_at_then_created_at_then_the_log() -> None:
    body = fixture("subscription_cancelled")
    del attributes(body)["updated_at"]
    assert the(SubscriptionObserved, facts(body)).at == datetime(2024, 5, 24, 14, 15, 4, tzinfo=UTC)
    attributes(body)["created_at"] = "not a time"
    occurred = datetime(2024, 1, 1, tzinfo=UTC)
    assert the(SubscriptionObserved, facts(body, occurred_at=occurred)).at == occurred
    assert the(SubscriptionObserved, facts(body)).at == RECEIVED


def test_times_with_offsets_become_utc() -> None:
    body = fixture("subscription_cancelled")
    attributes(body).update(updated_at="2024-07-02T10:01:45+02:00", ends_at="2024-07-24T14:15:04")
    sub = the(SubscriptionObserved, facts(body))
    assert sub.at == datetime(2024, 7, 2, 8, 1, 45, tzinfo=UTC)
    assert sub.at.tzinfo is UTC
    assert sub.current_period_end == datetime(2024, 7, 24, 14, 15, 4, tzinfo=UTC)
    assert sub.current_period_end is not None
    assert sub.current_period_end.tzinfo is UTC


@pytest.mark.parametrize(
    "event_type",
    ["license_key_created", "subscription_payment_refunded", "affiliate_activated", "order_x"],
)
def test_unmapped_types_state_nothing(event_type: str) -> None:
    assert facts(fixture("order_created"), event_type=event_type) == []
    assert facts({"meta": 1}, event_type=event_type) == []


def _edit(name: str, edit: Any) -> dict[str, Any]:
    body = fixture(name)
    edit(body)
    return body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_edit("order_created", lambda b: b.pop("data")), "`data`"),
        (_edit("order_created", lambda b: b["data"].pop("id")), "`id`"),
        (_edit("order_created", lambda b: b["data"].update(id="")), r"\$.data.id"),
        (_edit("order_created", lambda b: b["data"].pop("attributes")), "`attributes`"),
        (
            _edit("order_created", lambda b: attributes(b).pop("first_order_item")),
            "first_order_item",
        ),
        (
            _edit("order_created", lambda b: attributes(b)["first_order_item"].clear()),
            "neither a variant_id nor a product_id",
        ),
        (_edit("order_created", lambda b: attributes(b).update(status=None)), "status"),
        (_edit("order_created", lambda b: attributes(b).update(customer_id=True)), "customer_id"),
        (_edit("order_refunded", lambda b: attributes(b).update(refunded="yes")), "refunded"),
        (_edit("subscription_cancelled", lambda b: attributes(b).pop("status")), "`status`"),
        (
            _edit("subscription_cancelled", lambda b: attributes(b).update(ends_at="soon")),
            "ends_at is not an ISO 8601 time",
        ),
        (
            _edit("subscription_created_on_trial", lambda b: attributes(b).update(renews_at=17)),
            "renews_at",
        ),
        (
            _edit(
                "subscription_created_on_trial",
                lambda b: attributes(b).update(variant_id=None, product_id=None),
            ),
            "neither a variant_id nor a product_id",
        ),
        (
            _edit("subscription_payment_success", lambda b: attributes(b).pop("subscription_id")),
            "subscription_id",
        ),
        (
            _edit(
                "subscription_payment_failed", lambda b: attributes(b).update(subscription_id=[])
            ),
            "subscription_id",
        ),
    ],
)
def test_broken_payloads_of_mapped_types_are_mapping_errors(
    body: dict[str, Any], reason: str
) -> None:
    event_type = body["meta"]["event_name"]
    with pytest.raises(MappingError, match=reason) as caught:
        facts(body)
    assert str(caught.value).startswith(f"lemonsqueezy {event_type}: ")


def test_mapped_types_are_documented() -> None:
    assert MAPPED_EVENT_TYPES["lemonsqueezy"] == {
        "order_created",
        "order_refunded",
        "subscription_created",
        "subscription_updated",
        "subscription_cancelled",
        "subscription_resumed",
        "subscription_expired",
        "subscription_paused",
        "subscription_unpaused",
        "subscription_payment_success",
        "subscription_payment_failed",
        "subscription_payment_recovered",
    }
