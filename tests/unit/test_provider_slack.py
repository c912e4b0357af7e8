"""Slack adapter, checked against ``slack_sdk.signature.SignatureVerifier`` as the oracle.

The SDK takes an injectable ``clock``; its tolerance is fixed at five minutes, so we verify
with the same 300 seconds.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.signature import Clock, SignatureVerifier

from domain.errors import PayloadInvalid, SignatureInvalid
from domain.providers.base import Challenge, Envelope, Verification
from domain.providers.slack import PROVIDER

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ROTATED = "0123456789abcdef0123456789abcdef"
NOW = 1_700_000_000.0
TS = int(NOW)
TOLERANCE = 300  # slack_sdk hard-codes 60 * 5
BODY = (
    b'{"type":"event_callback","event_id":"Ev01","event_time":1700000000,'
    b'"event":{"type":"app_mention","text":"hi"}}'
)


class FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def sdk(secret: str = SECRET, now: float = NOW) -> SignatureVerifier:
    return SignatureVerifier(secret, clock=FixedClock(now))


def sdk_signature(body: bytes, secret: str, timestamp: int | str) -> str:
    signature = sdk(secret).generate_signature(timestamp=str(timestamp), body=body)
    assert signature is not None
    return signature


def sdk_accepts(body: bytes, timestamp: str, signature: str, now: float = NOW) -> bool:
    valid: bool = sdk(SECRET, now).is_valid(body=body, timestamp=timestamp, signature=signature)
    return valid


def headers_for(timestamp: str | None, signature: str | None) -> dict[str, str]:
    headers = {}
    if timestamp is not None:
        headers["x-slack-request-timestamp"] = timestamp
    if signature is not None:
        headers["x-slack-signature"] = signature
    return headers


def verify(
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    secrets: Sequence[str] = (SECRET,),
    now: float = NOW,
) -> Verification:
    headers = headers_for(timestamp, signature)
    return PROVIDER.verify(body, headers, PROVIDER.load_keys(secrets), now, TOLERANCE)


def ours_accepts(body: bytes, timestamp: str, signature: str, now: float = NOW) -> bool:
    try:
        verify(body, timestamp, signature, now=now)
    except SignatureInvalid:
        return False
    return True


# --- verify ---------------------------------------------------------------------------------------


def test_sdk_signed_delivery_passes() -> None:
    signature = sdk_signature(BODY, SECRET, TS)
    assert verify(BODY, str(TS), signature) == Verification("slack-v0", 0, 0)
    assert sdk_accepts(BODY, str(TS), signature)


def test_rotation_reports_the_index_of_the_matching_secret() -> None:
    signature = sdk_signature(BODY, ROTATED, TS)
    assert verify(BODY, str(TS), signature, secrets=(SECRET, ROTATED)).secret_index == 1


def test_verify_does_not_parse_json() -> None:
    body = b"payload=%7B%22not%22%3A%22json%22%7D"
    assert verify(body, str(TS), sdk_signature(body, SECRET, TS)).secret_index == 0


def test_tampered_body_fails() -> None:
    signature = sdk_signature(BODY, SECRET, TS)
    tampered = BODY.replace(b"hi", b"ho")
    with pytest.raises(SignatureInvalid, match="no matching signature"):
        verify(tampered, str(TS), signature)
    assert not sdk_accepts(tampered, str(TS), signature)


def test_wrong_secret_fails() -> None:
    signature = sdk_signature(BODY, ROTATED, TS)
    with pytest.raises(SignatureInvalid, match="no matching signature") as caught:
        verify(BODY, str(TS), signature)
    assert signature not in caught.value.reason
    assert not sdk_accepts(BODY, str(TS), signature)


@pytest.mark.parametrize("offset", [TOLERANCE + 1, -TOLERANCE - 1], ids=["stale", "future"])
def test_timestamp_outside_tolerance_fails_both_ways_like_the_sdk(offset: int) -> None:
    timestamp = TS - offset
    signature = sdk_signature(BODY, SECRET, timestamp)
    with pytest.raises(SignatureInvalid, match="timestamp outside tolerance"):
        verify(BODY, str(timestamp), signature)
    assert not sdk_accepts(BODY, str(timestamp), signature)


@pytest.mark.parametrize("offset", [TOLERANCE, -TOLERANCE])
def test_timestamp_exactly_at_tolerance_passes_like_the_sdk(offset: int) -> None:
    timestamp = TS - offset
    signature = sdk_signature(BODY, SECRET, timestamp)
    assert verify(BODY, str(timestamp), signature).skew_seconds == offset
    assert sdk_accepts(BODY, str(timestamp), signature)


def test_fractional_now_just_past_the_boundary_fails_like_the_sdk() -> None:
    signature = sdk_signature(BODY, SECRET, TS)
    now = NOW + TOLERANCE + 0.5
    with pytest.raises(SignatureInvalid, match="timestamp outside tolerance"):
        verify(BODY, str(TS), signature, now=now)
    assert not sdk_accepts(BODY, str(TS), signature, now=now)


GOOD = sdk_signature(BODY, SECRET, TS)


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        (str(TS), None, "missing X-Slack-Signature header"),
        (str(TS), "", "missing X-Slack-Signature header"),
        (None, GOOD, "missing X-Slack-Request-Timestamp header"),
        ("", GOOD, "missing X-Slack-Request-Timestamp header"),
    ],
)
def test_missing_headers_fail(timestamp: str | None, signature: str | None, reason: str) -> None:
    with pytest.raises(SignatureInvalid, match=reason):
        verify(BODY, timestamp, signature)


@pytest.mark.parametrize(("timestamp", "signature"), [(str(TS), None), (None, GOOD)])
def test_sdk_also_rejects_absent_headers(timestamp: str | None, signature: str | None) -> None:
    assert not sdk(SECRET).is_valid_request(BODY, headers_for(timestamp, signature))


@pytest.mark.parametrize(
    "timestamp", ["abc", "1.7e9", f"{TS}.0", f" {TS}", "\u0661\u0667" + "\u0660" * 8]
)
def test_malformed_timestamp_fails(timestamp: str) -> None:
    with pytest.raises(SignatureInvalid, match="malformed X-Slack-Request-Timestamp header"):
        verify(BODY, timestamp, GOOD)


@pytest.mark.parametrize("timestamp", ["abc", ""])
def test_sdk_raises_instead_of_returning_false_on_a_non_integer_timestamp(timestamp: str) -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        sdk_accepts(BODY, timestamp, GOOD)


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(GOOD.removeprefix("v0="), id="bare-hex"),
        pytest.param("v1=" + GOOD.removeprefix("v0="), id="wrong-version"),
        pytest.param("v0=", id="empty-hex"),
        pytest.param("v0", id="no-equals"),
    ],
)
def test_malformed_signature_header_fails_and_the_sdk_agrees(signature: str) -> None:
    with pytest.raises(SignatureInvalid, match="malformed X-Slack-Signature header"):
        verify(BODY, str(TS), signature)
    assert not sdk_accepts(BODY, str(TS), signature)


def test_timestamp_is_signed_exactly_as_sent_like_the_sdk() -> None:
    # Unlike Stripe and Standard Webhooks, Slack signs the header text, leading zeros included.
    as_sent = sdk_signature(BODY, SECRET, f"0{TS}")
    assert verify(BODY, f"0{TS}", as_sent).secret_index == 0
    assert sdk_accepts(BODY, f"0{TS}", as_sent)
    with pytest.raises(SignatureInvalid, match="no matching signature"):
        verify(BODY, f"0{TS}", GOOD)
    assert not sdk_accepts(BODY, f"0{TS}", GOOD)


def test_upper_case_hex_fails_like_the_sdk() -> None:
    upper = "v0=" + GOOD.removeprefix("v0=").upper()
    with pytest.raises(SignatureInvalid, match="no matching signature"):
        verify(BODY, str(TS), upper)
    assert not sdk_accepts(BODY, str(TS), upper)


@pytest.mark.parametrize(
    "foreign_message",
    [
        pytest.param(b"%d." % TS + BODY, id="stripe-message"),
        pytest.param(BODY, id="lemonsqueezy-body-only"),
        pytest.param(b"Ev01.%d." % TS + BODY, id="standard-webhooks-message"),
    ],
)
def test_signature_valid_for_another_scheme_fails(foreign_message: bytes) -> None:
    foreign = "v0=" + hmac.new(SECRET.encode(), foreign_message, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureInvalid, match="no matching signature"):
        verify(BODY, str(TS), foreign)
    assert not sdk_accepts(BODY, str(TS), foreign)


# --- verify: property against the SDK ----------------------------------------------------------


@given(
    body=st.text(st.characters(codec="utf-8"), max_size=200),
    secret=st.text(st.characters(codec="utf-8"), min_size=1, max_size=40).filter(str.strip),
    offset=st.integers(min_value=-2 * TOLERANCE, max_value=2 * TOLERANCE),
    fraction=st.sampled_from([0.0, 0.25, 0.5, 0.75]),
    mutation=st.sampled_from(["none", "tamper", "other-secret"]),
)
def test_accepts_exactly_what_the_sdk_accepts(
    body: str, secret: str, offset: int, fraction: float, mutation: str
) -> None:
    raw = body.encode()
    now = NOW + offset + fraction
    signer = secret + "x" if mutation == "other-secret" else secret
    signature = sdk_signature(raw, signer, TS)
    delivered = raw + b" " if mutation == "tamper" else raw
    try:
        PROVIDER.verify(
            delivered, headers_for(str(TS), signature), PROVIDER.load_keys([secret]), now, TOLERANCE
        )
        ours = True
    except SignatureInvalid:
        ours = False
    oracle = SignatureVerifier(secret, clock=FixedClock(now))
    assert ours == oracle.is_valid(body=delivered, timestamp=str(TS), signature=signature)


# --- parse ---------------------------------------------------------------------------------------


def test_parse_event_callback_uses_the_inner_event_type() -> None:
    assert PROVIDER.parse(BODY, {}) == Envelope(
        "Ev01", "app_mention", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"type":"event_callback","event_id":"Ev02","event":{"text":"no type"}}',
        b'{"type":"event_callback","event_id":"Ev02","event":{"type":7}}',
        b'{"type":"event_callback","event_id":"Ev02"}',
    ],
)
def test_parse_event_callback_without_inner_string_type_uses_top_level_type(body: bytes) -> None:
    assert PROVIDER.parse(body, {}) == Envelope("Ev02", "event_callback", None)


def test_parse_other_top_level_type_keeps_it() -> None:
    body = b'{"type":"app_rate_limited","event_id":"Ev03","event":{"type":"ignored"}}'
    assert PROVIDER.parse(body, {}) == Envelope("Ev03", "app_rate_limited", None)


def test_parse_url_verification_returns_a_challenge() -> None:
    body = b'{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",'
    body += b'"type":"url_verification"}'
    assert PROVIDER.parse(body, {}) == Challenge(
        body=b'{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}',
        content_type="application/json",
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'{"type":"url_verification"}', id="challenge-missing"),
        pytest.param(b'{"type":"url_verification","challenge":5}', id="challenge-not-string"),
        pytest.param(b'{"type":"event_callback","event":{"type":"x"}}', id="missing-event-id"),
        pytest.param(b'{"type":"event_callback","event_id":1}', id="non-string-event-id"),
        pytest.param(b'{"event_id":"Ev01"}', id="missing-type"),
    ],
)
def test_parse_rejects_bad_payloads(body: bytes) -> None:
    with pytest.raises(PayloadInvalid):
        PROVIDER.parse(body, {})
