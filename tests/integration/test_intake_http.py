"""Signed deliveries through the real HTTP stack end in the log once; everything else is refused."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import stripe

from domain.log_record import raw_body
from domain.providers.registry import resolve
from tests.support import signing


def stripe_event(event_id: str = "evt_1", kind: str = "customer.created") -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": kind,
            "created": 1_764_000_000,
            "data": {"object": {"id": "cus_1", "email": "alice@example.com"}},
        },
        separators=(", ", ": "),  # deliberately not compact: bytes must be kept exactly
    ).encode()


async def count_events(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM hookledger_events"))
    finally:
        await conn.close()


async def test_stripe_delivery_is_stored_with_everything(
    client: httpx.AsyncClient, database_url: str
) -> None:
    body = stripe_event("evt_full")
    headers = signing.stripe_headers(body)
    response = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "accepted"
    assert answer["event_id"] == "evt_full"
    assert answer["position"] >= 1

    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT * FROM hookledger_events")
        view = await conn.fetchrow("SELECT * FROM webhook_events")
    finally:
        await conn.close()
    assert row is not None
    assert view is not None
    assert row["provider"] == "stripe"
    assert row["event_type"] == "customer.created"
    assert row["occurred_at"].timestamp() == 1_764_000_000
    assert abs(row["received_at"].timestamp() - time.time()) < 60
    assert row["signature_scheme"] == "stripe-v1"
    assert row["signature_secret_index"] == 0
    assert row["signature_skew_seconds"] is not None
    assert row["notification_id"] == answer["position"]
    stored = raw_body(bytes(row["state"]), row["body_offset"])
    assert stored == body
    # The stored body and headers re-verify, with our verifier and with Stripe's own SDK.
    stored_headers = json.loads(row["headers"])
    assert set(stored_headers) == {"stripe-signature"}
    provider = resolve("stripe")
    assert provider is not None
    keys = provider.load_keys([signing.STRIPE_SECRET])
    provider.verify(stored, stored_headers, keys, time.time(), 300)
    stripe.WebhookSignature.verify_header(
        stored.decode(), stored_headers["stripe-signature"], signing.STRIPE_SECRET, 300
    )
    # The public view.
    assert view["position"] == answer["position"]
    assert view["event_id"] == "evt_full"
    assert json.loads(view["payload"]) == json.loads(body)
    assert bytes(view["raw_body"]) == body


async def test_every_provider_route_stores_its_deliveries(
    client: httpx.AsyncClient, database_url: str
) -> None:
    ls_body = json.dumps(
        {
            "meta": {"event_name": "order_created"},
            "data": {"id": "991", "type": "orders", "attributes": {"user_email": "a@x.io"}},
        }
    ).encode()
    slack_body = json.dumps(
        {
            "type": "event_callback",
            "event_id": "Ev01",
            "event_time": 1_764_000_000,
            "event": {"type": "team_join", "user": {"id": "U1"}},
        }
    ).encode()
    fa_body = json.dumps(
        {
            "type": "user.created",
            "timestamp": "2026-11-30T10:00:00Z",
            "data": {"id": "usr_1", "email": "a@x.io"},
        }
    ).encode()
    sends = [
        ("/webhooks/lemonsqueezy", ls_body, signing.lemonsqueezy_headers(ls_body, "order_created")),
        ("/webhooks/slack", slack_body, signing.slack_headers(slack_body)),
        ("/webhooks/framerauth", fa_body, signing.framerauth_headers(fa_body, "msg_2abc")),
    ]
    for path, body, headers in sends:
        response = await client.post(path, content=body, headers=headers)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["status"] == "accepted"
    # The alias shares the provider: an identical redelivery there is a duplicate.
    again = await client.post(
        "/webhooks/squeezy",
        content=ls_body,
        headers=signing.lemonsqueezy_headers(ls_body, "order_created"),
    )
    assert again.json()["status"] == "duplicate"

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT provider, event_id, event_type FROM webhook_events ORDER BY position"
        )
    finally:
        await conn.close()
    assert [(r["provider"], r["event_type"]) for r in rows] == [
        ("lemonsqueezy", "order_created"),
        ("slack", "team_join"),
        ("framerauth", "user.created"),
    ]
    assert rows[1]["event_id"] == "Ev01"
    assert rows[2]["event_id"] == "msg_2abc"


async def test_slack_url_verification_is_answered_and_not_stored(
    client: httpx.AsyncClient, database_url: str
) -> None:
    body = b'{"type": "url_verification", "token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV"}'
    response = await client.post(
        "/webhooks/slack", content=body, headers=signing.slack_headers(body)
    )
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}
    assert await count_events(database_url) == 0


async def test_unsigned_url_verification_is_refused(client: httpx.AsyncClient) -> None:
    body = b'{"type": "url_verification", "challenge": "abc"}'
    response = await client.post("/webhooks/slack", content=body)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("wrong_secret", 401, "invalid_signature"),
        ("tampered", 401, "invalid_signature"),
        ("stale", 401, "invalid_signature"),
        ("future", 401, "invalid_signature"),
        ("missing_header", 401, "invalid_signature"),
        ("not_json", 400, "invalid_payload"),
        ("no_event_id", 400, "invalid_payload"),
        ("nul_in_event_id", 400, "invalid_payload"),
    ],
)
async def test_bad_deliveries_get_a_json_error_and_store_nothing(
    client: httpx.AsyncClient, database_url: str, case: str, status: int, code: str
) -> None:
    body = stripe_event("evt_bad")
    headers = signing.stripe_headers(body)
    now = int(time.time())
    if case == "wrong_secret":
        headers = signing.stripe_headers(body, secret="whsec_not_the_right_one")
    elif case == "tampered":
        body = body.replace(b"alice", b"mallory")
    elif case == "stale":
        headers = signing.stripe_headers(body, at=now - 301)
    elif case == "future":
        headers = signing.stripe_headers(body, at=now + 301)
    elif case == "missing_header":
        headers = {"Content-Type": "application/json"}
    elif case == "not_json":
        body = b"this is not json"
        headers = signing.stripe_headers(body)
    elif case == "no_event_id":
        body = b'{"type": "customer.created", "object": "event"}'
        headers = signing.stripe_headers(body)
    elif case == "nul_in_event_id":
        body = b'{"id": "evt_\\u0000x", "type": "customer.created"}'
        headers = signing.stripe_headers(body)
    response = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()
    assert error["error"] == code
    assert error["detail"]
    # Nothing secret or sent comes back.
    assert signing.STRIPE_SECRET not in response.text
    assert "alice" not in response.text
    assert "mallory" not in response.text
    assert await count_events(database_url) == 0


async def test_unknown_and_disabled_providers_answer_404(
    client: httpx.AsyncClient, settings: object, database_url: str
) -> None:
    body = stripe_event()
    for path in (
        "/webhooks/paypal",
        "/webhooks/",
        "/webhooks/stripe/extra",
        "/webhooks/..%2Fstripe",
    ):
        response = await client.post(path, content=body, headers=signing.stripe_headers(body))
        assert response.status_code in (404, 405), path
        assert response.json()["error"]
    assert await count_events(database_url) == 0


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient, database_url: str) -> None:
    limit = 1024 * 1024
    filler = b'{"id": "evt_big", "type": "x", "pad": "'
    at_limit = filler + b"a" * (limit - len(filler) - 2) + b'"}'
    assert len(at_limit) == limit
    ok = await client.post(
        "/webhooks/stripe", content=at_limit, headers=signing.stripe_headers(at_limit)
    )
    assert ok.status_code == 200
    over = at_limit[:-2] + b'a"}'
    assert len(over) == limit + 1
    response = await client.post(
        "/webhooks/stripe", content=over, headers=signing.stripe_headers(over)
    )
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(over), 65536):
            yield over[i : i + 65536]

    chunked = await client.post(
        "/webhooks/stripe",
        content=chunks(),
        headers=signing.stripe_headers(over),
    )
    assert chunked.status_code == 413
    assert await count_events(database_url) == 1


async def test_health_ready_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/ready")).json() == {"status": "ready"}
    body = stripe_event("evt_m")
    await client.post("/webhooks/stripe", content=body, headers=signing.stripe_headers(body))
    await client.post("/webhooks/stripe", content=body, headers=signing.stripe_headers(body))
    await client.post("/webhooks/stripe", content=body, headers={"Stripe-Signature": "t=1,v1=00"})
    text = (await client.get("/metrics")).text
    assert 'hookledger_accepted_total{provider="stripe"} 1' in text
    assert 'hookledger_duplicate_total{provider="stripe"} 1' in text
    assert 'hookledger_rejected_total{provider="stripe"' in text
