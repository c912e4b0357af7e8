"""The retry schedule (exponential, capped, full jitter, dead after N attempts) and the
Standard Webhooks signature of forwarded events, checked with the standardwebhooks library."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks

from domain.workflows.backoff import backoff_delay, ceiling, next_delay
from domain.workflows.signing import decode_secret, idempotency_key, sign


def test_ceiling_doubles_from_the_base_up_to_the_cap() -> None:
    assert [ceiling(n, 30, 3600) for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert ceiling(10_000, 0.5, 10) == 10  # no overflow however many attempts


def test_full_jitter_scales_the_ceiling_by_the_injected_random_number() -> None:
    assert backoff_delay(1, 30, 3600, 0.0) == 0.0
    assert backoff_delay(3, 30, 3600, 0.5) == 60.0
    assert backoff_delay(20, 30, 3600, 0.25) == 900.0
    rng = random.Random(4)
    delays = [backoff_delay(4, 1.0, 100.0, rng.random()) for _ in range(1000)]
    assert all(0.0 <= d < 8.0 for d in delays)
    assert max(delays) > 7.0
    assert min(delays) < 1.0


def test_after_the_last_attempt_the_job_is_dead() -> None:
    assert next_delay(1, 3, 1.0, 10.0, 0.5) == 0.5
    assert next_delay(2, 3, 1.0, 10.0, 0.5) == 1.0
    assert next_delay(3, 3, 1.0, 10.0, 0.5) is None
    assert next_delay(1, 1, 1.0, 10.0, 0.5) is None


@pytest.mark.parametrize(("attempt", "rand"), [(0, 0.5), (1, 1.0), (1, -0.1)])
def test_bad_inputs_are_refused(attempt: int, rand: float) -> None:
    with pytest.raises(ValueError, match=r"attempt|rand"):
        backoff_delay(attempt, 1.0, 10.0, rand)


SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_signature_verifies_with_the_standardwebhooks_library() -> None:
    body = b'{"id":"evt_1","type":"invoice.paid"}'
    key = idempotency_key("activate", "stripe", "evt_1")
    ts = 1_760_000_000
    headers = {
        "webhook-id": key,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign([decode_secret(SECRET)], key, ts, body),
    }
    webhook = standardwebhooks.Webhook(SECRET)
    assert webhook.sign(key, _at(ts), body) == headers["webhook-signature"]
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        webhook.verify(body + b" ", {**headers, "webhook-timestamp": str(int(_now()))})


def test_rotation_signs_with_every_secret() -> None:
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUA=="
    header = sign([decode_secret(SECRET), decode_secret(other)], "msg_1", 1, b"{}")
    assert len(header.split(" ")) == 2
    assert all(p.startswith("v1,") for p in header.split(" "))


def test_idempotency_keys_are_stable_and_distinct() -> None:
    a = idempotency_key("welcome", "lemonsqueezy", "order_created:1:x")
    assert a == idempotency_key("welcome", "lemonsqueezy", "order_created:1:x")
    assert a != idempotency_key("receipt", "lemonsqueezy", "order_created:1:x")
    assert a.startswith("hljob_")
    assert len(a) == 38


@pytest.mark.parametrize("bad", ["whsec_", "whsec_not base64!", ""])
def test_malformed_secrets_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        decode_secret(bad)


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _now() -> float:
    return time.time()
