"""Stripe adapter, checked against the ``stripe`` SDK as the oracle.

The SDK reads the clock with ``time.time()`` inside ``stripe._webhook``; we swap that module's
``time`` name for a fixed clock so both sides judge the same ``now``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from unittest import mock

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st
from stripe import _webhook as stripe_webhook

from domain.errors import PayloadInvalid, SignatureInvalid
from domain.providers.base import Envelope, Verification
from domain.providers.stripe import PROVIDER

SECRET = "whsec_primary_0123456789abcdef"
ROTATED = "whsec_rotated_fedcba9876543210"
NOW = 1_700_000_000.0
TS = int(NOW)
TOLERANCE = stripe.Webhook.DEFAULT_TOLERANCE  # 300, the same default we are configured with
BODY = b'{"id":"evt_1","object":"event","type":"invoice.paid","created":1700000000}'


def sdk_signature(body: bytes, secret: str, timestamp: int) -> str:
    return stripe.WebhookSignature._compute_signature(f"{timestamp}.{body.decode()}", secret)


def sdk_header(body: bytes, secret: str, timestamp: int) -> str:
    header: str = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=timestamp
    )
    return header


@contextmanager
def sdk_clock(now: float) -> Iterator[None]:
    with mock.patch.object(stripe_webhook, "time", SimpleNamespace(time=lambda: now)):
        yield


def sdk_accepts(body: bytes, header: str, secret: str, now: float = NOW) -> bool:
    with sdk_clock(now):
        try:
            stripe.WebhookSignature.verify_header(body, header, secret, TOLERANCE)
        except stripe.SignatureVerificationError:
            return False
    return True


def verify(
    body: bytes, header: str | None, secrets: Sequence[str] = (SECRET,), now: float = NOW
) -> Verification:
    headers = {} if header is None else {"stripe-signature": header}
    return PROVIDER.verify(body, headers, PROVIDER.load_keys(secrets), now, TOLERANCE)


def ours_accepts(body: bytes, header: str, secrets: Sequence[str] = (SECRET,)) -> bool:
    try:
        verify(body, header, secrets)
    except SignatureInvalid:
        return False
    return True


# --- verify: accepted deliveries -------------------------------------------------------------


def test_sdk_signed_delivery_passes_and_sdk_constructs_the_same_event() -> None:
    header = sdk_header(BODY, SECRET, TS)
    assert verify(BODY, header) == Verification("stripe-v1", 0, 0)
    with sdk_clock(NOW):
        event = stripe.Webhook.construct_event(BODY, header, SECRET, TOLERANCE)
    parsed = PROVIDER.parse(BODY, {"stripe-signature": header})
    assert isinstance(parsed, Envelope)
    assert (parsed.event_id, parsed.event_type) == (event.id, event.type)


def test_rotation_reports_the_index_of_the_matching_secret() -> None:
    header = sdk_header(BODY, SECRET, TS)
    assert verify(BODY, header, secrets=(ROTATED, SECRET)).secret_index == 1
    assert verify(BODY, header, secrets=(SECRET, ROTATED)).secret_index == 0


def test_first_configured_key_wins_when_both_keys_signed() -> None:
    header = f"t={TS},v1={sdk_signature(BODY, SECRET, TS)},v1={sdk_signature(BODY, ROTATED, TS)}"
    assert verify(BODY, header, secrets=(ROTATED, SECRET)).secret_index == 0


def test_one_right_signature_among_several_v1_passes() -> None:
    good = sdk_signature(BODY, SECRET, TS)
    header = f"t={TS},v1={'0' * 64},v1={good},v0={'f' * 64},v9=zzz"
    assert verify(BODY, header).secret_index == 0
    assert sdk_accepts(BODY, header, SECRET)


def test_verify_does_not_parse_json() -> None:
    body = b"\x00 not json at all \xff"
    digest = hmac.new(SECRET.encode(), b"%d." % TS + body, hashlib.sha256).hexdigest()
    header = f"t={TS},v1={digest}"
    assert verify(body, header).scheme == "stripe-v1"


# --- verify: rejected deliveries, with the SDK agreeing -----------------------------------------


def test_tampered_body_fails() -> None:
    header = sdk_header(BODY, SECRET, TS)
    tampered = BODY.replace(b"invoice.paid", b"invoice.void")
    with pytest.raises(SignatureInvalid, match="no matching signature"):
        verify(tampered, header)
    assert not sdk_accepts(tampered, header, SECRET)


def test_wrong_secret_fails() -> None:
    header = sdk_header(BODY, ROTATED, TS)
    with pytest.raises(SignatureInvalid, match="no matching signature") as caught:
        verify(BODY, header)
    assert SECRET not in caught.value.reason
    assert ROTATED not in caught.value.reason
    assert not sdk_accepts(BODY, header, SECRET)
    with sdk_clock(NOW), pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(BODY, header, SECRET, TOLERANCE)


def test_stale_timestamp_fails_and_the_boundary_passes() -> None:
    stale = sdk_header(BODY, SECRET, TS - TOLERANCE - 1)
    with pytest.raises(SignatureInvalid, match="timestamp outside tolerance"):
        verify(BODY, stale)
    assert not sdk_accepts(BODY, stale, SECRET)

    boundary = sdk_header(BODY, SECRET, TS - TOLERANCE)
    assert verify(BODY, boundary).skew_seconds == TOLERANCE
    assert sdk_accepts(BODY, boundary, SECRET)


def test_future_timestamp_fails_although_the_sdk_accepts_it() -> None:
    future = sdk_header(BODY, SECRET, TS + TOLERANCE + 1)
    with pytest.raises(SignatureInvalid, match="timestamp outside tolerance"):
        verify(BODY, future)
    # stripe-python only rejects timestamps that are too old; we are deliberately stricter.
    assert sdk_accepts(BODY, future, SECRET)

    boundary = sdk_header(BODY, SECRET, TS + TOLERANCE)
    assert verify(BODY, boundary).skew_seconds == -TOLERANCE


@pytest.mark.parametrize("header", [None, ""])
def test_missing_header_fails(header: str | None) -> None:
    with pytest.raises(SignatureInvalid, match="missing Stripe-Signature header"):
        verify(BODY, header)


GOOD = sdk_signature(BODY, SECRET, TS)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(f"v1={GOOD}", id="no-t"),
        pytest.param(f"t=abc,v1={GOOD}", id="non-integer-t"),
        pytest.param(f"t=,v1={GOOD}", id="empty-t"),
        pytest.param(f"t,v1={GOOD}", id="t-without-value"),
        pytest.param(f"t={TS}", id="no-v1"),
        pytest.param(f"t={TS},v0={GOOD}", id="only-v0"),
        pytest.param(f"t={TS},v2={GOOD}", id="only-unknown-scheme"),
        pytest.param("garbage", id="garbage"),
    ],
)
def test_malformed_header_fails_and_the_sdk_agrees(header: str) -> None:
    with pytest.raises(SignatureInvalid, match="malformed Stripe-Signature header") as caught:
        verify(BODY, header)
    assert GOOD not in caught.value.reason
    assert not sdk_accepts(BODY, header, SECRET)


def test_non_digit_timestamp_is_rejected_although_the_sdk_int_parses_it() -> None:
    header = f"t=+{TS},v1={GOOD}"
    with pytest.raises(SignatureInvalid, match="malformed"):
        verify(BODY, header)
    assert sdk_accepts(BODY, header, SECRET)  # int("+1700000000") is lenient


def test_leading_zero_timestamp_is_signed_in_canonical_form_like_the_sdk() -> None:
    header = f"t=0{TS},v1={GOOD}"
    assert verify(BODY, header).secret_index == 0
    assert sdk_accepts(BODY, header, SECRET)


@pytest.mark.parametrize(
    "foreign_message",
    [
        pytest.param(b"v0:%d:" % TS + BODY, id="slack-v0-message"),
        pytest.param(BODY, id="lemonsqueezy-body-only"),
        pytest.param(b"msg_1.%d." % TS + BODY, id="standard-webhooks-message"),
    ],
)
def test_signature_valid_for_another_scheme_fails(foreign_message: bytes) -> None:
    foreign = hmac.new(SECRET.encode(), foreign_message, hashlib.sha256).hexdigest()
    header = f"t={TS},v1={foreign}"
    with pytest.raises(SignatureInvalid, match="no matching signature"):
        verify(BODY, header)
    assert not sdk_accepts(BODY, header, SECRET)


@pytest.mark.parametrize("secrets", [[""], ["  "], [SECRET, ""], []])
def test_load_keys_rejects_empty_secrets(secrets: list[str]) -> None:
    with pytest.raises(ValueError, match=r"empty|no secrets"):
        PROVIDER.load_keys(secrets)


# --- verify: properties against the SDK ---------------------------------------------------------

utf8_text = st.text(st.characters(codec="utf-8"), max_size=200)
secrets = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40).filter(
    lambda s: bool(s.strip())
)


@given(
    body=utf8_text,
    secret=secrets,
    other=secrets,
    offset=st.integers(min_value=-2 * TOLERANCE, max_value=2 * TOLERANCE),
    mutation=st.sampled_from(["none", "tamper", "other-secret", "v0-only", "decoys"]),
)
def test_accepts_exactly_what_the_sdk_accepts(
    body: str, secret: str, other: str, offset: int, mutation: str
) -> None:
    raw = body.encode()
    timestamp = TS - offset
    signer = other if mutation == "other-secret" else secret
    signature = sdk_signature(raw, signer, timestamp)
    header = {
        "v0-only": f"t={timestamp},v0={signature}",
        "decoys": f"t={timestamp},v1={'a' * 64},v1={signature},v0=00",
    }.get(mutation, f"t={timestamp},v1={signature}")
    delivered = raw + b"!" if mutation == "tamper" else raw

    ours = ours_accepts(delivered, header, (secret,))
    # The SDK has no upper bound on the timestamp; apart from that the two must agree.
    assert ours == (sdk_accepts(delivered, header, secret) and offset >= -TOLERANCE)


@given(body=st.binary(max_size=300), offset=st.integers(-TOLERANCE, TOLERANCE))
def test_independent_hmac_of_any_bytes_passes_with_reported_skew(body: bytes, offset: int) -> None:
    timestamp = TS - offset
    digest = hmac.new(ROTATED.encode(), b"%d." % timestamp + body, hashlib.sha256).hexdigest()
    result = verify(body, f"t={timestamp},v1={digest}", secrets=(SECRET, ROTATED))
    assert result == Verification("stripe-v1", 1, offset)


# --- parse ---------------------------------------------------------------------------------------


def test_parse_good_envelope() -> None:
    assert PROVIDER.parse(BODY, {}) == Envelope(
        "evt_1", "invoice.paid", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    )


@pytest.mark.parametrize("created", [b"", b',"created":"1700000000"', b',"created":true'])
def test_parse_without_integer_created_has_no_occurred_at(created: bytes) -> None:
    body = b'{"id":"evt_2","type":"charge.succeeded"' + created + b"}"
    assert PROVIDER.parse(body, {}) == Envelope("evt_2", "charge.succeeded", None)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"", id="empty"),
        pytest.param(b'[{"id":"evt_1","type":"x"}]', id="array"),
        pytest.param(b'"evt_1"', id="string"),
        pytest.param(b'{"type":"invoice.paid"}', id="missing-id"),
        pytest.param(b'{"id":"evt_1"}', id="missing-type"),
        pytest.param(b'{"id":1,"type":"invoice.paid"}', id="non-string-id"),
        pytest.param(b'{"id":"evt_1","type":null}', id="null-type"),
    ],
)
def test_parse_rejects_bad_payloads(body: bytes) -> None:
    with pytest.raises(PayloadInvalid):
        PROVIDER.parse(body, {})
