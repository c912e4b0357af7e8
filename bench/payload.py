"""Realistic signed Stripe deliveries for the load generator and the ceiling drivers.

A ~2 KB ``customer.subscription.updated`` event shaped like Stripe's own, with a unique ``evt_…``
id per delivery, signed exactly as Stripe signs (``t=<unix>,v1=<hex HMAC-SHA256 of "t." + body>``
keyed by the whole ``whsec_…`` string). The body is a template split around the event id, so a new
delivery costs one concatenation and one HMAC.

By default every delivery updates the same subscription (the ingest passes never project). With
``subjects=K`` the subscription and customer ids cycle through K distinct ones, so projection
workers following the log fold many small histories, as with real traffic.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

import msgspec

from domain.providers import stripe

SECRET = "whsec_bench_4f0c2a9d7e6b5a4c3b2a190817263544"
PATH = "/webhooks/stripe"
_PLACEHOLDER = "evt_" + "X" * 24
_SUBSCRIPTION = b"sub_1PgbYwB9kQk6Q2XhT1hC8sYd"
_CUSTOMER = b"cus_QXp2n4ZJdWm8Qe"


def event_document(event_id: str, created: int) -> dict[str, Any]:
    """One ``customer.subscription.updated`` event as Stripe sends it (abridged, same shape)."""
    price = {
        "id": "price_1PgafmB9kQk6Q2XhLw5v0J3e",
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": created - 86_400 * 90,
        "currency": "eur",
        "livemode": False,
        "lookup_key": "team_monthly",
        "metadata": {},
        "nickname": "Team (monthly)",
        "product": "prod_QXp1cL0mWm2bVt",
        "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
        "tax_behavior": "exclusive",
        "type": "recurring",
        "unit_amount": 4900,
        "unit_amount_decimal": "4900",
    }
    subscription = {
        "id": "sub_1PgbYwB9kQk6Q2XhT1hC8sYd",
        "object": "subscription",
        "application_fee_percent": None,
        "automatic_tax": {"enabled": True, "liability": {"type": "self"}},
        "billing_cycle_anchor": created - 86_400 * 12,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "collection_method": "charge_automatically",
        "created": created - 86_400 * 42,
        "currency": "eur",
        "current_period_end": created + 86_400 * 18,
        "current_period_start": created - 86_400 * 12,
        "customer": "cus_QXp2n4ZJdWm8Qe",
        "default_payment_method": "pm_1PgbYuB9kQk6Q2XhJbq1Tz9K",
        "description": None,
        "discount": None,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": "si_QXp2oKJ0bq0Tfa",
                    "object": "subscription_item",
                    "created": created - 86_400 * 42,
                    "metadata": {},
                    "price": price,
                    "quantity": 7,
                    "subscription": "sub_1PgbYwB9kQk6Q2XhT1hC8sYd",
                    "tax_rates": [],
                }
            ],
            "has_more": False,
            "total_count": 1,
            "url": "/v1/subscription_items?subscription=sub_1PgbYwB9kQk6Q2XhT1hC8sYd",
        },
        "latest_invoice": "in_1PgbYwB9kQk6Q2XhV3n7aPq2",
        "livemode": False,
        "metadata": {"account_email": "ops@example.org", "plan": "team", "seats": "7"},
        "pause_collection": None,
        "payment_settings": {"payment_method_types": ["card"], "save_default_payment_method": "on"},
        "quantity": 7,
        "start_date": created - 86_400 * 42,
        "status": "active",
        "trial_end": None,
        "trial_start": None,
    }
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "data": {
            "object": subscription,
            "previous_attributes": {"quantity": 6, "items": {"data": [{"quantity": 6}]}},
        },
        "livemode": False,
        "pending_webhooks": 2,
        "request": {"id": "req_Zk8wqXm0tLQx1b", "idempotency_key": "4b1e0c2e-7d6f-4a55"},
        "type": "customer.subscription.updated",
    }


class StripeDeliveries:
    """Makes ready-to-send HTTP/1.1 requests, each a freshly signed delivery with a unique id."""

    def __init__(
        self, *, host: str, id_prefix: str, secret: str = SECRET, subjects: int = 0
    ) -> None:
        if len(id_prefix) > 8:
            raise ValueError("id_prefix is at most 8 characters")
        self.signed_at = int(time.time())
        body = msgspec.json.encode(event_document(_PLACEHOLDER, self.signed_at))
        head, tail = body.split(_PLACEHOLDER.encode())
        self._head = head
        self._tail = tail
        self._subjects = subjects
        if subjects:  # the tail holds every subscription and customer id
            subs = tail.split(_SUBSCRIPTION)
            self._tail_parts = [part.split(_CUSTOMER) for part in subs]
        self._key = secret.encode()
        self._ts = b"%d." % self.signed_at
        self._id_prefix = b"evt_" + id_prefix.encode()
        self._request_head = (
            f"POST {PATH} HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            "User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)\r\n"
            "Accept: */*; q=0.5, application/xml\r\n"
            "Cache-Control: no-cache\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
        ).encode()
        self.count = 0

    def body(self, n: int) -> bytes:
        """The body of delivery number ``n`` (its id is unique per prefix and ``n``)."""
        if not self._subjects:
            return self._head + self._id_prefix + b"%020d" % n + self._tail
        k = n % self._subjects
        sub, cus = b"sub_bench%08d" % k, b"cus_bench%08d" % k
        tail = sub.join(cus.join(parts) for parts in self._tail_parts)
        return self._head + self._id_prefix + b"%020d" % n + tail

    def signature(self, body: bytes) -> bytes:
        digest = hmac.digest(self._key, self._ts + body, "sha256").hex()
        return b"t=" + self._ts[:-1] + b",v1=" + digest.encode()

    def next_request(self) -> bytes:
        body = self.body(self.count)
        self.count += 1
        return b"".join(
            (
                self._request_head,
                b"Stripe-Signature: ",
                self.signature(body),
                b"\r\nContent-Length: %d\r\n\r\n" % len(body),
                body,
            )
        )

    def self_check(self) -> int:
        """Verifies one delivery with the project's own Stripe adapter; returns the body size."""
        body = self.body(10**19)
        headers = {"stripe-signature": self.signature(body).decode()}
        stripe.verify(body, headers, [self._key], float(self.signed_at), 300)
        envelope = stripe.parse(body, headers)
        assert envelope.event_type == "customer.subscription.updated"
        return len(body)
