"""Forged and misused signatures: another provider's signature, a replay with a changed timestamp,
Stripe headers without a usable v1, Standard Webhooks headers with only unknown versions, enormous
and repeated headers. Each is refused with 401 and stores nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
import standardwebhooks
import stripe
from slack_sdk.signature import SignatureVerifier

from tests.support import forgery, signing
from tests.support.event_log import count_events
from tests.support.hostile import (
    Headers,
    assert_json_error,
    stripe_body,
)


def test_forgery_helpers_match_the_provider_sdks() -> None:
    body, at = stripe_body("evt_sdk"), int(time.time())
    sdk = stripe.WebhookSignature.generate_signature_header(
        body.decode(), signing.STRIPE_SECRET, timestamp=at
    )
    assert sdk == forgery.stripe_headers(body, at)["Stripe-Signature"]
    assert forgery.slack_headers(body, signing.SLACK_SECRET.encode(), at)["X-Slack-Signature"] == (
        SignatureVerifier(signing.SLACK_SECRET).generate_signature(timestamp=str(at), body=body)
    )
    assert (
        forgery.lemonsqueezy_headers(body, signing.LEMONSQUEEZY_SECRET.encode())["X-Signature"]
        == signing.lemonsqueezy_headers(body, "x")["X-Signature"]
    )
    webhook = standardwebhooks.Webhook(signing.FRAMERAUTH_SECRET)
    expected = signing.framerauth_headers(body, "msg_1", at=at)["webhook-signature"]
    assert expected == webhook.sign("msg_1", datetime.fromtimestamp(at, UTC), body.decode())
    assert (
        forgery.framerauth_headers(body, "msg_1", forgery.framerauth_key(), at)["webhook-signature"]
        == expected
    )


def _all_other(route: str) -> Callable[[bytes], Headers]:
    def sign(body: bytes) -> Headers:
        headers: Headers = {}
        if route != "stripe":
            headers |= signing.stripe_headers(body)
        if route != "slack":
            headers |= signing.slack_headers(body)
        if route != "lemonsqueezy":
            headers |= signing.lemonsqueezy_headers(body, "order_created")
        if route != "framerauth":
            headers |= signing.framerauth_headers(body, "msg_cross")
        return headers

    return sign


STRIPE_KEY = signing.STRIPE_SECRET.encode()
CROSS: dict[str, tuple[str, Callable[[bytes], Headers]]] = {
    "slack-signed-to-stripe": ("stripe", signing.slack_headers),
    "stripe-signed-to-framerauth": ("framerauth", signing.stripe_headers),
    "framerauth-signed-to-slack": ("slack", lambda b: signing.framerauth_headers(b, "msg_x")),
    "lemonsqueezy-signed-to-stripe": ("stripe", lambda b: signing.lemonsqueezy_headers(b, "e")),
    "stripe-signed-to-lemonsqueezy": ("lemonsqueezy", signing.stripe_headers),
    "all-others-to-stripe": ("stripe", _all_other("stripe")),
    "all-others-to-framerauth": ("framerauth", _all_other("framerauth")),
    "stripe-format-slack-secret": (
        "stripe",
        lambda b: forgery.stripe_headers(b, secret=signing.SLACK_SECRET),
    ),
    "slack-format-stripe-secret": ("slack", lambda b: forgery.slack_headers(b, STRIPE_KEY)),
    "lemonsqueezy-format-stripe-secret": (
        "lemonsqueezy",
        lambda b: forgery.lemonsqueezy_headers(b, STRIPE_KEY),
    ),
    "framerauth-format-stripe-secret": (
        "framerauth",
        lambda b: forgery.framerauth_headers(b, "msg_x", STRIPE_KEY),
    ),
    "framerauth-format-undecoded-secret": (
        "framerauth",
        lambda b: forgery.framerauth_headers(b, "msg_x", signing.FRAMERAUTH_SECRET.encode()),
    ),
}


@pytest.mark.parametrize("case", list(CROSS))
async def test_signature_for_another_provider_is_401(
    client: httpx.AsyncClient, database_url: str, case: str
) -> None:
    route, sign = CROSS[case]
    body = forgery.universal_body("evt_cross")
    response = await client.post(f"/webhooks/{route}", content=body, headers=sign(body))
    assert_json_error(response, 401, "invalid_signature")
    assert await count_events(database_url) == 0


@pytest.mark.parametrize("route", ["stripe", "slack", "lemonsqueezy", "framerauth"])
async def test_the_universal_body_is_accepted_when_signed_for_its_route(
    client: httpx.AsyncClient, database_url: str, route: str
) -> None:
    """Control for the cross-provider cases: only the signature made them fail."""
    body = forgery.universal_body("evt_cross")
    signers: dict[str, Callable[[bytes], Headers]] = {
        "stripe": signing.stripe_headers,
        "slack": signing.slack_headers,
        "lemonsqueezy": lambda b: signing.lemonsqueezy_headers(b, "order_created"),
        "framerauth": lambda b: signing.framerauth_headers(b, "msg_cross"),
    }
    response = await client.post(f"/webhooks/{route}", content=body, headers=signers[route](body))
    assert response.status_code == 200, response.text
    assert await count_events(database_url) == 1


async def test_stripe_signature_replayed_with_a_changed_t_is_401(
    client: httpx.AsyncClient, database_url: str
) -> None:
    body = stripe_body("evt_replay")
    t0 = int(time.time()) - 30
    v1 = forgery.stripe_v1(body, t0)
    for header in (
        f"t={t0 + 1},v1={v1}",
        f"t={t0 - 1},v1={v1}",
        f"t={int(time.time())},v1={v1}",
        f"t={t0 + 1},t={t0},v1={v1}",  # the first t is the one signed over
    ):
        response = await client.post(
            "/webhooks/stripe", content=body, headers={"Stripe-Signature": header}
        )
        assert_json_error(response, 401, "invalid_signature")
    assert await count_events(database_url) == 0
    original = {"Stripe-Signature": f"t={t0},v1={v1}"}
    response = await client.post("/webhooks/stripe", content=body, headers=original)
    assert response.json()["status"] == "accepted"


@pytest.mark.parametrize(
    "template",
    ["t={t},v0={sig}", "t={t},V1={sig}", "t={t},v2={sig}", "t={t},v1=,v0={sig}", "t={t},v1 ={sig}"],
)
async def test_stripe_header_without_a_usable_v1_is_401(
    client: httpx.AsyncClient, database_url: str, template: str
) -> None:
    body = stripe_body("evt_v0")
    now = int(time.time())
    header = template.format(t=now, sig=forgery.stripe_v1(body, now))
    response = await client.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": header}
    )
    assert_json_error(response, 401, "invalid_signature")
    assert await count_events(database_url) == 0


@pytest.mark.parametrize(
    "versions", [("v2",), ("v1a",), ("V1",), ("v0", "v2"), ("",), ("v1a", "v1b", "v2")]
)
async def test_standard_webhooks_header_with_only_unknown_versions_is_401(
    client: httpx.AsyncClient, database_url: str, versions: tuple[str, ...]
) -> None:
    body = forgery.universal_body("evt_sw")
    key = forgery.framerauth_key()
    headers = forgery.framerauth_headers(body, "msg_sw", key, versions=versions)
    response = await client.post("/webhooks/framerauth", content=body, headers=headers)
    assert_json_error(response, 401, "invalid_signature")
    assert await count_events(database_url) == 0
    # The very same signature under v1 is accepted: only the version made it fail.
    valid = forgery.framerauth_headers(body, "msg_sw", key, versions=(*versions, "v1"))
    response = await client.post("/webhooks/framerauth", content=body, headers=valid)
    assert response.json()["status"] == "accepted"


def _big_headers(case: str, body: bytes) -> list[tuple[str, str]]:
    now = int(time.time())
    forged = f"t={now},v1={'0' * 64}"
    valid = signing.stripe_headers(body)["Stripe-Signature"]
    if case == "60kb-junk-header":
        return [("X-Padding", "a" * 60_000)]
    if case == "60kb-stripe-signature":
        return [("Stripe-Signature", f"t={now}" + f",v1={'0' * 64}" * 900)]
    if case == "60kb-signed-junk-header-forged-signature":
        return [("Stripe-Signature", forged), ("X-Padding", "b" * 60_000)]
    if case == "1000-repeated-headers":
        return [("X-Repeated", str(i)) for i in range(1000)]
    if case == "repeated-forged-signatures":
        return [("Stripe-Signature", forged), ("Stripe-Signature", forged.replace("0", "1"))]
    assert case == "repeated-forged-then-valid"
    return [("Stripe-Signature", forged), ("Stripe-Signature", valid)]


@pytest.mark.parametrize(
    "case",
    [
        "60kb-junk-header",
        "60kb-stripe-signature",
        "60kb-signed-junk-header-forged-signature",
        "1000-repeated-headers",
        "repeated-forged-signatures",
        "repeated-forged-then-valid",
    ],
)
async def test_enormous_and_repeated_headers_store_nothing(
    client: httpx.AsyncClient, database_url: str, case: str
) -> None:
    body = stripe_body("evt_headers")
    headers = _big_headers(case, body)
    started = time.monotonic()
    response = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert time.monotonic() - started < 5
    assert_json_error(response, 401, "invalid_signature")
    assert await count_events(database_url) == 0


async def test_repeated_signature_headers_the_first_one_is_verified_and_stored(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """Documented behaviour: of repeated ``Stripe-Signature`` headers only the first counts (the
    forged-first order is refused above); the stored header is the one that was verified."""
    body = stripe_body("evt_first_wins")
    valid = signing.stripe_headers(body)["Stripe-Signature"]
    forged = f"t={int(time.time())},v1={'0' * 64}"
    headers = [("Stripe-Signature", valid), ("Stripe-Signature", forged)]
    response = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert response.json()["status"] == "accepted"
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval("SELECT headers FROM hookledger_events")
    finally:
        await conn.close()
    assert json.loads(stored) == {"stripe-signature": valid}
    assert await count_events(database_url) == 1
