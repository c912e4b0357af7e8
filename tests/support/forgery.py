"""Signatures built by hand, for the hostile-input tests: byte-exact signing of bodies the SDKs
cannot take (invalid UTF-8), signatures in one provider's format made with another provider's
secret, and headers carrying versions a verifier must ignore.

Each helper computes exactly what the provider documents; tests/integration/test_hostile_input.py
cross-checks them against the SDK-based tests/support/signing.py on valid bodies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from tests.support import signing


def hex_hmac(key: bytes, msg: bytes) -> str:
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def b64_hmac(key: bytes, msg: bytes) -> str:
    return base64.b64encode(hmac.digest(key, msg, "sha256")).decode("ascii")


def framerauth_key(secret: str = signing.FRAMERAUTH_SECRET) -> bytes:
    encoded = secret.removeprefix("whsec_")
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def stripe_v1(body: bytes, at: int, secret: str = signing.STRIPE_SECRET) -> str:
    """The hex v1 signature Stripe computes over ``b"<t>." + body`` (any bytes)."""
    return hex_hmac(secret.encode(), b"%d." % at + body)


def stripe_headers(
    body: bytes, at: int | None = None, secret: str = signing.STRIPE_SECRET
) -> dict[str, str]:
    at = at or int(time.time())
    return {"Stripe-Signature": f"t={at},v1={stripe_v1(body, at, secret)}"}


def slack_headers(body: bytes, key: bytes, at: int | None = None) -> dict[str, str]:
    stamp = str(at or int(time.time()))
    signature = hex_hmac(key, b"v0:%b:" % stamp.encode() + body)
    return {"X-Slack-Signature": f"v0={signature}", "X-Slack-Request-Timestamp": stamp}


def lemonsqueezy_headers(body: bytes, key: bytes) -> dict[str, str]:
    return {"X-Signature": hex_hmac(key, body), "X-Event-Name": "order_created"}


def standard_webhooks_signature(body: bytes, msg_id: str, at: int, key: bytes) -> str:
    """The base64 signature (no version prefix) over ``"<id>.<t>." + body``."""
    return b64_hmac(key, b"%b.%d." % (msg_id.encode(), at) + body)


def framerauth_headers(
    body: bytes, msg_id: str, key: bytes, at: int | None = None, versions: tuple[str, ...] = ("v1",)
) -> dict[str, str]:
    """Standard Webhooks headers whose signature list carries ``versions`` (each entry holds the
    signature that would be valid under v1)."""
    at = at or int(time.time())
    signature = standard_webhooks_signature(body, msg_id, at, key)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(at),
        "webhook-signature": " ".join(f"{version},{signature}" for version in versions),
    }


def universal_body(event_id: str) -> bytes:
    """A body every provider's ``parse`` accepts, so only the signature decides the answer."""
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "event_callback",
            "event_id": event_id,
            "event": {"type": "team_join"},
            "meta": {"event_name": "order_created"},
            "data": {"id": "1", "type": "orders"},
        }
    ).encode()
