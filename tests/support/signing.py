"""Sign deliveries the way each provider does, using the providers' own SDKs where one exists."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime

import standardwebhooks
import stripe
from slack_sdk.signature import SignatureVerifier

STRIPE_SECRET = "whsec_test_stripe_0123456789abcdef"
LEMONSQUEEZY_SECRET = "ls-test-signing-secret"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FRAMERAUTH_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

ALL_SECRETS_ENV = {
    "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
    "LEMONSQUEEZY_WEBHOOK_SECRET": LEMONSQUEEZY_SECRET,
    "SLACK_SIGNING_SECRET": SLACK_SECRET,
    "FRAMERAUTH_WEBHOOK_SECRET": FRAMERAUTH_SECRET,
}


def stripe_headers(
    body: bytes, secret: str = STRIPE_SECRET, at: int | None = None
) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=at or int(time.time())
    )
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def lemonsqueezy_headers(
    body: bytes, event_name: str, secret: str = LEMONSQUEEZY_SECRET
) -> dict[str, str]:
    # Lemon Squeezy publishes no SDK signer: plain hex HMAC-SHA256 of the raw body.
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Signature": signature,
        "X-Event-Name": event_name,
        "Content-Type": "application/json",
    }


def slack_headers(body: bytes, secret: str = SLACK_SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = str(at or int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return {
        "X-Slack-Signature": signature,
        "X-Slack-Request-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


def framerauth_headers(
    body: bytes, msg_id: str, secret: str = FRAMERAUTH_SECRET, at: int | None = None
) -> dict[str, str]:
    moment = datetime.fromtimestamp(at or int(time.time()), UTC)
    signature = standardwebhooks.Webhook(secret).sign(msg_id, moment, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }
