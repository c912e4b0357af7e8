"""Realistic provider deliveries for many customers: sign-ups, checkouts, subscriptions that renew,
fail, recover and cancel, one-time orders and refunds, Slack and FramerAuth profiles.

Deterministic for a given seed. Used by the projection tests and the benchmarks.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Delivery:
    provider: str
    event_id: str
    event_type: str
    body: bytes


def _dump(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def stripe_event(event_id: str, kind: str, at: datetime, obj: dict[str, object]) -> Delivery:
    body = {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": int(at.timestamp()),
        "api_version": "2025-03-31.basil",
        "livemode": False,
        "data": {"object": obj},
    }
    return Delivery("stripe", event_id, kind, _dump(body))


def stripe_subscription(
    sub: str,
    cus: str,
    status: str,
    price: str,
    product: str,
    period_end: datetime,
    cancel: bool = False,
) -> dict[str, object]:
    return {
        "id": sub,
        "object": "subscription",
        "customer": cus,
        "status": status,
        "cancel_at_period_end": cancel,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_{sub[4:]}",
                    "object": "subscription_item",
                    "current_period_end": int(period_end.timestamp()),
                    "price": {
                        "id": price,
                        "object": "price",
                        "product": product,
                        "unit_amount": 1900,
                        "currency": "usd",
                    },
                }
            ],
        },
    }


def ls_event(name: str, data_type: str, data_id: str, attributes: dict[str, object]) -> Delivery:
    body = {
        "meta": {"event_name": name, "test_mode": True},
        "data": {"type": data_type, "id": data_id, "attributes": attributes},
    }
    raw = _dump(body)
    # Lemon Squeezy has no event id: the log derives one; here only a label for humans.
    return Delivery("lemonsqueezy", f"{name}:{data_id}:{attributes.get('updated_at')}", name, raw)


def stripe_journey(n: int, rng: random.Random, t0: datetime) -> list[Delivery]:
    cus, sub, email = f"cus_{n:06d}", f"sub_{n:06d}", f"user{n}@example.com"
    price, product = rng.choice([("price_pro_m", "prod_pro"), ("price_team_m", "prod_team")])
    out, k = [], 0

    def at(minutes: int) -> datetime:
        return t0 + timedelta(minutes=minutes)

    def ev(kind: str, minutes: int, obj: dict[str, object]) -> None:
        nonlocal k
        k += 1
        out.append(stripe_event(f"evt_{n:06d}_{k:03d}", kind, at(minutes), obj))

    ev(
        "customer.created",
        0,
        {"id": cus, "object": "customer", "email": email.upper(), "name": f"User {n}"},
    )
    ev(
        "checkout.session.completed",
        1,
        {
            "id": f"cs_{n}",
            "object": "checkout.session",
            "customer": cus,
            "mode": "subscription",
            "subscription": sub,
            "customer_details": {"email": email, "name": f"User {n}"},
        },
    )
    status = rng.choice(["active", "trialing"])
    ev(
        "customer.subscription.created",
        2,
        stripe_subscription(sub, cus, status, price, product, at(60 * 24 * 30)),
    )
    ev(
        "invoice.paid",
        3,
        {
            "id": f"in_{n}_1",
            "object": "invoice",
            "customer": cus,
            "customer_email": email,
            "parent": {"subscription_details": {"subscription": sub}},
        },
    )
    months = rng.randint(0, 4)
    for m in range(1, months + 1):
        minute = 60 * 24 * 30 * m
        if rng.random() < 0.2:
            ev(
                "invoice.payment_failed",
                minute,
                {"id": f"in_{n}_{m}f", "object": "invoice", "customer": cus, "subscription": sub},
            )
            ev(
                "customer.subscription.updated",
                minute + 1,
                stripe_subscription(
                    sub, cus, "past_due", price, product, at(minute + 60 * 24 * 30)
                ),
            )
        ev(
            "invoice.paid",
            minute + 2,
            {"id": f"in_{n}_{m}", "object": "invoice", "customer": cus, "subscription": sub},
        )
        ev(
            "customer.subscription.updated",
            minute + 3,
            stripe_subscription(sub, cus, "active", price, product, at(minute + 60 * 24 * 30)),
        )
    if rng.random() < 0.3:
        ev(
            "customer.updated",
            60 * 24 * 30 * months + 10,
            {"id": cus, "object": "customer", "email": email, "name": f"User {n} Renamed"},
        )
    if rng.random() < 0.25:
        end = 60 * 24 * 30 * (months + 1)
        ev(
            "customer.subscription.deleted",
            end,
            stripe_subscription(sub, cus, "canceled", price, product, at(end)),
        )
    return out


def lemonsqueezy_journey(n: int, rng: random.Random, t0: datetime) -> list[Delivery]:
    email, cust = f"buyer{n}@example.com", 70000 + n
    out = []
    base = {"customer_id": cust, "user_email": email, "user_name": f"Buyer {n}"}

    def at(minutes: int) -> str:
        return _iso(t0 + timedelta(minutes=minutes))

    order = {
        **base,
        "status": "paid",
        "refunded": False,
        "identifier": f"ord-{n}",
        "first_order_item": {"product_id": 4500, "variant_id": 4521},
        "created_at": at(0),
        "updated_at": at(0),
    }
    out.append(ls_event("order_created", "orders", str(9000 + n), order))
    if rng.random() < 0.15:
        refunded = {**order, "status": "refunded", "refunded": True, "updated_at": at(600)}
        out.append(ls_event("order_refunded", "orders", str(9000 + n), refunded))
    if rng.random() < 0.5:
        sub = {
            **base,
            "product_id": 4600,
            "variant_id": 4601,
            "status": "on_trial",
            "cancelled": False,
            "renews_at": at(60 * 24 * 14),
            "ends_at": None,
            "created_at": at(5),
            "updated_at": at(5),
        }
        out.append(ls_event("subscription_created", "subscriptions", str(500 + n), sub))
        paid = {
            "subscription_id": 500 + n,
            "customer_id": cust,
            "user_email": email,
            "status": "paid",
            "created_at": at(60 * 24 * 14),
            "updated_at": at(60 * 24 * 14),
        }
        out.append(
            ls_event("subscription_payment_success", "subscription-invoices", str(800 + n), paid)
        )
        active = {**sub, "status": "active", "updated_at": at(60 * 24 * 14 + 1)}
        out.append(ls_event("subscription_updated", "subscriptions", str(500 + n), active))
        if rng.random() < 0.3:
            cancelled = {
                **active,
                "status": "cancelled",
                "cancelled": True,
                "ends_at": at(60 * 24 * 44),
                "updated_at": at(60 * 24 * 20),
            }
            out.append(ls_event("subscription_cancelled", "subscriptions", str(500 + n), cancelled))
            expired = {**cancelled, "status": "expired", "updated_at": at(60 * 24 * 44)}
            out.append(ls_event("subscription_expired", "subscriptions", str(500 + n), expired))
    return out


def framerauth_journey(n: int, rng: random.Random, t0: datetime) -> list[Delivery]:
    email, uid = f"user{n}@example.com", f"usr_{n:06d}"
    out = []
    for k, (kind, data) in enumerate(
        [
            ("user.created", {"id": uid, "email": email, "name": f"User {n}"}),
            ("user.updated", {"id": uid, "email": email, "name": f"User {n} F"}),
        ]
        + ([("user.deleted", {"id": uid})] if rng.random() < 0.1 else [])
    ):
        body = {"type": kind, "timestamp": _iso(t0 + timedelta(minutes=7 + k)), "data": data}
        out.append(Delivery("framerauth", f"msg_{n:06d}_{k}", kind, _dump(body)))
    return out


def slack_journey(n: int, rng: random.Random, t0: datetime) -> list[Delivery]:
    uid, email = f"U{n:07d}", f"user{n}@example.com"
    out = []
    for k, kind in enumerate(["team_join", "user_change"]):
        body = {
            "type": "event_callback",
            "team_id": "T1",
            "event_id": f"Ev{n:07d}{k}",
            "event_time": int((t0 + timedelta(minutes=9 + k)).timestamp()),
            "event": {
                "type": kind,
                "user": {"id": uid, "real_name": f"User {n} S{k}", "profile": {"email": email}},
            },
        }
        out.append(Delivery("slack", f"Ev{n:07d}{k}", kind, _dump(body)))
    return out


def generate(customers: int, seed: int = 7, first: int = 0) -> list[Delivery]:
    """Deliveries for ``customers`` people (numbered from ``first``, so successive calls with
    different ``first`` describe different people), in a realistic (time) order with no
    duplicates."""
    rng = random.Random(seed)
    out: list[tuple[datetime, int, Delivery]] = []
    for n in range(first, first + customers):
        t0 = EPOCH + timedelta(minutes=rng.randint(0, 60 * 24 * 90))
        journeys = [stripe_journey, framerauth_journey]
        if rng.random() < 0.4:
            journeys.append(lemonsqueezy_journey)
        if rng.random() < 0.3:
            journeys.append(slack_journey)
        for journey in journeys:
            for d in journey(n, rng, t0):
                out.append((t0, len(out), d))
    out.sort(key=lambda x: (x[0], x[1]))
    return [d for _, _, d in out]


def shuffled_with_duplicates(
    deliveries: list[Delivery], seed: int, dup_rate: float = 0.1, window: int | None = None
) -> list[Delivery]:
    """The same set in a random order, some delivered twice (as providers retry and reorder).

    With ``window``, the order is only shuffled within consecutive runs of that many deliveries
    (nearby deliveries overtake each other, as on a real network) and each repeat lands in the
    window after its original; without it, the whole list is shuffled."""
    rng = random.Random(seed)
    if window is None:
        everything = list(deliveries) + [d for d in deliveries if rng.random() < dup_rate]
        rng.shuffle(everything)
        return everything
    out: list[Delivery] = []
    carried: list[Delivery] = []
    for start in range(0, len(deliveries), window):
        chunk = deliveries[start : start + window]
        repeats = [d for d in chunk if rng.random() < dup_rate]
        chunk = chunk + carried
        rng.shuffle(chunk)
        out += chunk
        carried = repeats
    return out + carried
