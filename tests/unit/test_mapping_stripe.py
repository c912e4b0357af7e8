"""Stripe events → facts, from payloads shaped like Stripe's documented Event objects
(API versions 2020-03-02, 2024-06-20 and 2025-03-31.basil)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from domain.errors import MappingError
from domain.facts import (
    SUBSCRIPTION_STATUSES,
    IdentitySeen,
    PaymentObserved,
    SubscriptionLinked,
    SubscriptionObserved,
)
from domain.log_record import LoggedEvent
from domain.mapping import MAPPED_EVENT_TYPES, facts_for
from domain.products import ProductCatalog

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events" / "stripe"
RECEIVED = datetime(2030, 1, 1, tzinfo=UTC)
CATALOG = ProductCatalog(
    {"stripe": {"price_1PqZpro": "pro-monthly", "prod_Q8xPro": "pro", "prod_RqTeam": "team"}}
)

ADA = "cus_QJ5tGm2mX9fZ1c"
ADA_SUB = "sub_1PSZ1nKx4fYq7GhAUz3Rr8Qe"
TEAM = "cus_RqL2mN3oP4qR5s"
TEAM_SUB = "sub_1QxB7dKx4fYq7GhAm3Nn4Pp5"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return loaded


def logged(
    body: dict[str, Any] | bytes,
    *,
    event_type: str | None = None,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> LoggedEvent:
    """A log row as the Stripe adapter would store it, except that ``occurred_at`` is None
    unless given, so that ``at`` visibly comes from the body."""
    if isinstance(body, dict):
        event_type = event_type or body["type"]
        event_id = event_id or body["id"]
        raw = json.dumps(body).encode()
    else:
        raw = body
    assert event_type is not None
    return LoggedEvent(
        position=7,
        provider="stripe",
        event_id=event_id or "evt_test",
        event_type=event_type,
        occurred_at=occurred_at,
        received_at=RECEIVED,
        body=raw,
    )


def facts(body: dict[str, Any] | bytes, catalog: ProductCatalog = CATALOG, **kw: Any) -> list[Any]:
    return list(facts_for(logged(body, **kw), catalog))


def sub_object(body: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = body["data"]["object"]
    return obj


# --- customers -----------------------------------------------------------------------------


def test_customer_created() -> None:
    assert facts(fixture("customer_created")) == [
        IdentitySeen(
            provider="stripe",
            identity_id=ADA,
            email="ada.lovelace@example.com",
            name="Ada Lovelace",
            deleted=None,
            at=datetime(2024, 6, 12, 14, 41, 42, tzinfo=UTC),
            event_key="stripe:evt_1PSZ1mKx4fYq7GhA0cUs9r2L",
        )
    ]


def test_customer_updated() -> None:
    assert facts(fixture("customer_updated")) == [
        IdentitySeen(
            provider="stripe",
            identity_id=ADA,
            email="ada@analytical-engine.example",
            name="Augusta Ada King",
            deleted=None,
            at=datetime(2024, 6, 13, 14, 46, 40, tzinfo=UTC),
            event_key="stripe:evt_1PT0aQKx4fYq7GhAe7Qw3NnB",
        )
    ]


def test_customer_without_email_or_name() -> None:
    body = fixture("customer_created")
    sub_object(body).update(email=None, name="")
    [fact] = facts(body)
    assert isinstance(fact, IdentitySeen)
    assert (fact.email, fact.name) == (None, None)


# --- checkout ------------------------------------------------------------------------------


def test_checkout_for_a_subscription_links_customer_and_email() -> None:
    at = datetime(2024, 6, 12, 14, 41, 45, tzinfo=UTC)
    key = "stripe:evt_1PSZ1oKx4fYq7GhAq2m8VvJx"
    assert facts(fixture("checkout_session_completed_subscription")) == [
        IdentitySeen("stripe", ADA, "ada.lovelace@example.com", "Ada Lovelace", None, at, key),
        SubscriptionLinked("stripe", ADA_SUB, ADA, "ada.lovelace@example.com", at, key),
    ]


def test_guest_checkout_without_customer_or_subscription_states_nothing() -> None:
    assert facts(fixture("checkout_session_completed_guest")) == []


def test_checkout_without_customer_still_links_the_subscription_to_the_email() -> None:
    body = fixture("checkout_session_completed_subscription")
    sub_object(body)["customer"] = None
    assert facts(body) == [
        SubscriptionLinked(
            "stripe",
            ADA_SUB,
            None,
            "ada.lovelace@example.com",
            datetime(2024, 6, 12, 14, 41, 45, tzinfo=UTC),
            "stripe:evt_1PSZ1oKx4fYq7GhAq2m8VvJx",
        )
    ]


def test_legacy_checkout_email_comes_from_customer_email() -> None:
    at = datetime(2020, 6, 8, 11, 0, tzinfo=UTC)
    key = "stripe:evt_1GqYk2Kx4fYq7GhAZ0n1bXc2"
    assert facts(fixture("checkout_session_completed_legacy_email")) == [
        IdentitySeen(
            "stripe", "cus_HP8bNq2Wz4rT5y", "charles.babbage@example.net", None, None, at, key
        ),
        SubscriptionLinked(
            "stripe",
            "sub_HP8bUvY1cD2eF3",
            "cus_HP8bNq2Wz4rT5y",
            "charles.babbage@example.net",
            at,
            key,
        ),
    ]


def test_checkout_prefers_customer_details_email() -> None:
    body = fixture("checkout_session_completed_subscription")
    sub_object(body)["customer_email"] = "prefilled@example.com"
    assert {fact.email for fact in facts(body)} == {"ada.lovelace@example.com"}
    sub_object(body)["customer_details"]["email"] = None
    assert {fact.email for fact in facts(body)} == {"prefilled@example.com"}


def test_checkout_without_any_email_links_without_identity() -> None:
    body = fixture("checkout_session_completed_subscription")
    sub_object(body)["customer_details"]["email"] = None
    [fact] = facts(body)
    assert fact == SubscriptionLinked(
        "stripe", ADA_SUB, ADA, None, fact.at, "stripe:evt_1PSZ1oKx4fYq7GhAq2m8VvJx"
    )


# --- subscriptions -------------------------------------------------------------------------


def test_subscription_created_with_pre_2025_top_level_period_end() -> None:
    assert facts(fixture("customer_subscription_created_2024")) == [
        SubscriptionObserved(
            provider="stripe",
            subscription_id=ADA_SUB,
            customer_id=ADA,
            email=None,
            status="active",
            products=("pro-monthly",),
            current_period_end=datetime(2024, 7, 12, 14, 41, 43, tzinfo=UTC),
            cancel_at_period_end=False,
            at=datetime(2024, 6, 12, 14, 41, 46, tzinfo=UTC),
            event_key="stripe:evt_1PSZ1pKx4fYq7GhAv9XcD4tQ",
        )
    ]


def test_subscription_updated_with_per_item_period_ends_takes_the_latest() -> None:
    assert facts(fixture("customer_subscription_updated_basil")) == [
        SubscriptionObserved(
            provider="stripe",
            subscription_id=TEAM_SUB,
            customer_id=TEAM,
            email=None,
            status="past_due",
            products=("stripe:prod_RqSeat", "team"),
            current_period_end=datetime(2025, 5, 9, 9, 0, tzinfo=UTC),
            cancel_at_period_end=True,
            at=datetime(2025, 4, 8, 9, 0, tzinfo=UTC),
            event_key="stripe:evt_1R2c9eKx4fYq7GhAe1Ff2Gg3",
        )
    ]


def test_subscription_with_expanded_customer_and_product() -> None:
    assert facts(fixture("customer_subscription_updated_expanded")) == [
        SubscriptionObserved(
            provider="stripe",
            subscription_id="sub_1PUv3qKx4fYq7GhAxExpand1",
            customer_id="cus_QLc4Expanded0A",
            email=None,
            status="trialing",
            products=("pro",),
            current_period_end=datetime(2024, 7, 3, 9, 46, 39, tzinfo=UTC),
            cancel_at_period_end=False,
            at=datetime(2024, 6, 19, 9, 40, tzinfo=UTC),
            event_key="stripe:evt_1PUv3rKx4fYq7GhAc0Dd1Ee2",
        )
    ]


def test_subscription_deleted_is_canceled_whatever_the_object_says() -> None:
    expected = SubscriptionObserved(
        provider="stripe",
        subscription_id=ADA_SUB,
        customer_id=ADA,
        email=None,
        status="canceled",
        products=("pro-monthly",),
        current_period_end=datetime(2024, 7, 12, 14, 41, 43, tzinfo=UTC),
        cancel_at_period_end=False,
        at=datetime(2024, 7, 12, 14, 41, 44, tzinfo=UTC),
        event_key="stripe:evt_1PbQ0aKx4fYq7GhAdEl3t3dX",
    )
    body = fixture("customer_subscription_deleted")
    assert facts(body) == [expected]
    for status in ("active", "incomplete_expired", "something_new"):
        sub_object(body)["status"] = status
        assert facts(body) == [expected]


def test_unmapped_products_fall_back_to_the_product_id() -> None:
    [fact] = facts(fixture("customer_subscription_created_2024"), ProductCatalog.empty())
    assert isinstance(fact, SubscriptionObserved)
    assert fact.products == ("stripe:prod_Q8xPro",)


def test_products_are_sorted_and_unique() -> None:
    body = fixture("customer_subscription_updated_basil")
    items = sub_object(body)["items"]["data"]
    items.append(json.loads(json.dumps(items[0])))
    items[0]["price"]["product"] = {"id": "prod_RqSeat", "object": "product"}
    [fact] = facts(body)
    assert isinstance(fact, SubscriptionObserved)
    assert fact.products == ("stripe:prod_RqSeat", "team")


def test_pre_2020_item_with_only_a_plan() -> None:
    body = fixture("customer_subscription_created_2024")
    del sub_object(body)["items"]["data"][0]["price"]
    [fact] = facts(body)
    assert isinstance(fact, SubscriptionObserved)
    assert fact.products == ("pro-monthly",)


def test_subscription_without_any_period_end() -> None:
    body = fixture("customer_subscription_created_2024")
    del sub_object(body)["current_period_end"]
    [fact] = facts(body)
    assert isinstance(fact, SubscriptionObserved)
    assert fact.current_period_end is None


@pytest.mark.parametrize("status", SUBSCRIPTION_STATUSES)
def test_known_statuses_pass_through(status: str) -> None:
    body = fixture("customer_subscription_created_2024")
    sub_object(body)["status"] = status
    [fact] = facts(body)
    assert isinstance(fact, SubscriptionObserved)
    assert fact.status == status


def test_incomplete_expired_becomes_expired() -> None:
    body = fixture("customer_subscription_created_2024")
    sub_object(body)["status"] = "incomplete_expired"
    [fact] = facts(body)
    assert isinstance(fact, SubscriptionObserved)
    assert fact.status == "expired"


def test_unknown_status_is_a_mapping_error() -> None:
    body = fixture("customer_subscription_created_2024")
    sub_object(body)["status"] = "on_hold"
    with pytest.raises(MappingError, match="unknown subscription status 'on_hold'"):
        facts(body)


# --- invoices ------------------------------------------------------------------------------


def test_invoice_paid_with_top_level_subscription() -> None:
    at = datetime(2024, 7, 12, 14, 41, 50, tzinfo=UTC)
    key = "stripe:evt_1PbQ0cKx4fYq7GhAInv0Paid"
    assert facts(fixture("invoice_paid_2024")) == [
        IdentitySeen("stripe", ADA, "ada.lovelace@example.com", None, None, at, key),
        PaymentObserved("stripe", ADA_SUB, True, at, key),
    ]


def test_invoice_payment_failed_with_subscription_only_under_parent() -> None:
    at = datetime(2025, 5, 8, 9, 1, 40, tzinfo=UTC)
    key = "stripe:evt_1RFa1lKx4fYq7GhAFa1l3dPy"
    assert facts(fixture("invoice_payment_failed_basil")) == [
        IdentitySeen("stripe", TEAM, "team-billing@example.io", None, None, at, key),
        PaymentObserved("stripe", TEAM_SUB, False, at, key),
    ]


def test_one_off_invoice_states_nothing() -> None:
    assert facts(fixture("invoice_paid_one_off")) == []


def test_invoice_with_expanded_subscription_and_no_email() -> None:
    body = fixture("invoice_paid_2024")
    sub_object(body).update(
        subscription={"id": ADA_SUB, "object": "subscription"}, customer_email=None
    )
    assert facts(body) == [
        PaymentObserved(
            "stripe",
            ADA_SUB,
            True,
            datetime(2024, 7, 12, 14, 41, 50, tzinfo=UTC),
            "stripe:evt_1PbQ0cKx4fYq7GhAInv0Paid",
        )
    ]


# --- times, unmapped types, broken payloads ------------------------------------------------


def test_at_falls_back_to_occurred_at_then_received_at() -> None:
    body = fixture("customer_created")
    del body["created"]
    occurred = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    [fact] = facts(body, occurred_at=occurred)
    assert fact.at == occurred
    [fact] = facts(body)
    assert fact.at == RECEIVED
    body["created"] = 10**15  # far beyond datetime's range: unusable, so the fallback applies
    [fact] = facts(body)
    assert fact.at == RECEIVED


@pytest.mark.parametrize(
    "event_type", ["charge.succeeded", "customer.deleted", "payment_intent.succeeded", "ping"]
)
def test_unmapped_types_state_nothing_whatever_the_body(event_type: str) -> None:
    assert facts(fixture("customer_created"), event_type=event_type) == []
    assert facts(b"not json at all", event_type=event_type) == []


def test_mapped_types_are_documented() -> None:
    assert MAPPED_EVENT_TYPES["stripe"] == {
        "customer.created",
        "customer.updated",
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_failed",
    }


def _without(name: str, *path: str) -> dict[str, Any]:
    body = fixture(name)
    target = body
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return body


def _replaced(name: str, value: object, *path: str) -> dict[str, Any]:
    body = fixture(name)
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "unexpected payload shape"),
        (_without("customer_created", "data"), "missing required field `data`"),
        (_without("customer_created", "data", "object", "id"), r"`id` - at `\$.data.object`"),
        (_replaced("customer_created", 42, "data", "object", "id"), r"\$.data.object.id"),
        (_replaced("customer_created", "", "data", "object", "id"), r"\$.data.object.id"),
        (_replaced("customer_updated", ["a@b.c"], "data", "object", "email"), "email"),
        (_without("customer_subscription_created_2024", "data", "object", "id"), "`id`"),
        (_without("customer_subscription_created_2024", "data", "object", "status"), "`status`"),
        (_without("customer_subscription_created_2024", "data", "object", "items"), "`items`"),
        (
            _replaced(
                "customer_subscription_updated_basil",
                [{"quantity": 1}],
                *["data", "object", "items", "data"],
            ),
            "subscription item without a price",
        ),
        (
            _replaced(
                "customer_subscription_created_2024", 10**15, "data", "object", "current_period_end"
            ),
            "current_period_end is not a usable unix time",
        ),
        (_replaced("invoice_paid_2024", 7, "data", "object", "subscription"), "subscription"),
        (
            _replaced(
                "checkout_session_completed_subscription", {}, "data", "object", "subscription"
            ),
            "id",
        ),
    ],
)
def test_broken_payloads_of_mapped_types_are_mapping_errors(
    body: dict[str, Any] | bytes, reason: str
) -> None:
    event_type = body["type"] if isinstance(body, dict) else "customer.created"
    with pytest.raises(MappingError, match=reason) as caught:
        facts(body, event_type=event_type)
    assert str(caught.value).startswith(f"stripe {event_type}: ")


def test_mapping_errors_do_not_quote_the_body() -> None:
    body = _replaced("customer_created", 12345, "data", "object", "email")
    sub_object(body)["name"] = "SECRET-LOOKING NAME"
    with pytest.raises(MappingError) as caught:
        facts(body)
    assert "SECRET" not in str(caught.value)
    assert "12345" not in str(caught.value)


def test_fixtures_are_valid_stripe_events() -> None:
    for path in FIXTURES.glob("*.json"):
        event = msgspec.json.decode(path.read_bytes())
        assert event["object"] == "event"
        assert event["id"].startswith("evt_")
