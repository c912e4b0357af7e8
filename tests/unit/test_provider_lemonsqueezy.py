"""Lemon Squeezy adapter. There is no official Python SDK to use as an oracle, so signatures are
computed independently here with ``hmac``/``hashlib``, plus one hard-coded known-answer vector.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import PayloadInvalid, SignatureInvalid
from domain.providers.base import Envelope, Verification
from domain.providers.lemonsqueezy import PROVIDER

SECRET = "ls_signing_secret_1"
ROTATED = "ls_signing_secret_2"
NOW = 1_700_000_000.0
TOLERANCE = 300
BODY = (
    b'{"meta":{"event_name":"order_created","custom_data":{}},"data":{"type":"orders","id":"1",'
    b'"attributes":{"status":"paid","created_at":"2024-01-31T11:59:00.000000Z",'
    b'"updated_at":"2024-01-31T12:00:00.000000Z"}}}'
)
# Known-answer vector, computed once and cross-checked outside Python with
#   printf '%s' "$BODY" | openssl dgst -sha256 -hmac ls_signing_secret_1
# Do not regenerate it from the code under test.
BODY_SIGNATURE = "42e40e34ba7a6b620299e431d2ba13fd505e19788d8f06433eebf7d7bcef0704"
BODY_SHA256_PREFIX = "f99592c8351b6c2e3c0b03cfb151c0ce"  # sha256sum of BODY, first 32 hex digits


def reference_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str | None, secrets: Sequence[str] = (SECRET,)) -> Verification:
    headers = {} if signature is None else {"x-signature": signature}
    return PROVIDER.verify(body, headers, PROVIDER.load_keys(secrets), NOW, TOLERANCE)


# --- verify ---------------------------------------------------------------------------------------


def test_known_answer_vector_passes() -> None:
    assert reference_signature(BODY, SECRET) == BODY_SIGNATURE
    assert verify(BODY, BODY_SIGNATURE) == Verification("hmac-sha256-hex", 0, None)


def test_upper_case_hex_passes() -> None:
    assert verify(BODY, BODY_SIGNATURE.upper()).secret_index == 0


def test_rotation_reports_the_index_of_the_matching_secret() -> None:
    assert verify(BODY, BODY_SIGNATURE, secrets=(ROTATED, SECRET)).secret_index == 1


def test_no_timestamp_means_any_clock_is_fine() -> None:
    keys = PROVIDER.load_keys([SECRET])
    headers = {"x-signature": BODY_SIGNATURE}
    assert PROVIDER.verify(BODY, headers, keys, 0.0, 0).skew_seconds is None


def test_verify_does_not_parse_json() -> None:
    body = b"\x00\xff definitely not JSON"
    assert verify(body, reference_signature(body, SECRET)).secret_index == 0


def test_tampered_body_fails() -> None:
    with pytest.raises(SignatureInvalid, match="no matching signature"):
        verify(BODY.replace(b"paid", b"void"), BODY_SIGNATURE)


def test_wrong_secret_fails_without_leaking_anything() -> None:
    signature = reference_signature(BODY, ROTATED)
    with pytest.raises(SignatureInvalid, match="no matching signature") as caught:
        verify(BODY, signature)
    reason = caught.value.reason
    for secret_or_content in (SECRET, ROTATED, signature, "order_created"):
        assert secret_or_content not in reason


@pytest.mark.parametrize("signature", [None, ""])
def test_missing_header_fails(signature: str | None) -> None:
    with pytest.raises(SignatureInvalid, match="missing X-Signature header"):
        verify(BODY, signature)


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(BODY_SIGNATURE[:-2], id="truncated"),
        pytest.param(BODY_SIGNATURE + "00", id="extended"),
        pytest.param("sha256=" + BODY_SIGNATURE, id="prefixed"),
        pytest.param(" " + BODY_SIGNATURE, id="leading-space"),
        pytest.param("zz" * 32, id="not-hex"),
        pytest.param("é" * 64, id="non-ascii"),
        pytest.param(
            base64.b64encode(bytes.fromhex(BODY_SIGNATURE)).decode(), id="right-digest-as-base64"
        ),
    ],
)
def test_malformed_signature_fails(signature: str) -> None:
    with pytest.raises(SignatureInvalid, match="no matching signature"):
        verify(BODY, signature)


@pytest.mark.parametrize(
    "foreign_message",
    [
        pytest.param(b"1700000000." + BODY, id="stripe-message"),
        pytest.param(b"v0:1700000000:" + BODY, id="slack-message"),
        pytest.param(b"msg_1.1700000000." + BODY, id="standard-webhooks-message"),
    ],
)
def test_signature_valid_for_another_scheme_fails(foreign_message: bytes) -> None:
    with pytest.raises(SignatureInvalid, match="no matching signature"):
        verify(BODY, reference_signature(foreign_message, SECRET))


@pytest.mark.parametrize("secrets", [[""], [" \t"], [SECRET, ""], []])
def test_load_keys_rejects_empty_secrets(secrets: list[str]) -> None:
    with pytest.raises(ValueError, match=r"empty|no secrets"):
        PROVIDER.load_keys(secrets)


# --- verify: properties against an independent HMAC --------------------------------------------

secret_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40).filter(str.strip)


@given(body=st.binary(max_size=400), secret=secret_text, upper=st.booleans())
def test_independent_hmac_passes(body: bytes, secret: str, upper: bool) -> None:
    signature = reference_signature(body, secret)
    result = verify(body, signature.upper() if upper else signature, secrets=("unused", secret))
    assert result == Verification("hmac-sha256-hex", 1, None)


@given(body=st.binary(min_size=1, max_size=400), secret=secret_text, data=st.data())
def test_any_single_byte_change_fails(body: bytes, secret: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    tampered = body[:position] + bytes([body[position] ^ flip]) + body[position + 1 :]
    with pytest.raises(SignatureInvalid):
        verify(tampered, reference_signature(body, secret), secrets=(secret,))


# --- parse ---------------------------------------------------------------------------------------


def test_parse_good_envelope() -> None:
    assert PROVIDER.parse(BODY, {"x-event-name": "order_created"}) == Envelope(
        f"order_created:1:{BODY_SHA256_PREFIX}",
        "order_created",
        datetime(2024, 1, 31, 12, tzinfo=UTC),
    )


def test_event_key_is_deterministic_for_identical_bodies_and_distinct_otherwise() -> None:
    first = PROVIDER.parse(BODY, {})
    again = PROVIDER.parse(bytes(bytearray(BODY)), {})
    other = PROVIDER.parse(BODY.replace(b'"paid"', b'"refunded"'), {})
    assert isinstance(first, Envelope)
    assert isinstance(again, Envelope)
    assert isinstance(other, Envelope)
    assert first.event_id == again.event_id
    assert first.event_id != other.event_id
    assert other.event_id.startswith("order_created:1:")


@given(st.binary(max_size=64), st.binary(max_size=64))
def test_event_key_separates_distinct_bodies(tail_a: bytes, tail_b: bytes) -> None:
    def key(tail: bytes) -> str:
        body = b'{"meta":{"event_name":"x"},"pad":"%b"}' % tail.hex().encode()
        parsed = PROVIDER.parse(body, {})
        assert isinstance(parsed, Envelope)
        return parsed.event_id

    assert (key(tail_a) == key(tail_b)) == (tail_a == tail_b)


def test_event_name_falls_back_to_the_header() -> None:
    body = b'{"data":{"id":"7","attributes":{"created_at":"2024-02-01T00:00:00Z"}}}'
    parsed = PROVIDER.parse(body, {"x-event-name": "subscription_updated"})
    assert isinstance(parsed, Envelope)
    assert parsed.event_type == "subscription_updated"
    assert parsed.event_id.startswith("subscription_updated:7:")
    assert parsed.occurred_at == datetime(2024, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "key_part", "occurred_at"),
    [
        (b"{}", "-", None),
        (b'{"id":42}', "42", None),
        (b'{"id":"9","attributes":{"updated_at":"soon","created_at":null}}', "9", None),
        (
            b'{"attributes":{"updated_at":"2024-01-31T13:00:00+01:00"}}',
            "-",
            datetime(2024, 1, 31, 12, tzinfo=UTC),
        ),
    ],
)
def test_parse_optional_fields(data: bytes, key_part: str, occurred_at: datetime | None) -> None:
    body = b'{"meta":{"event_name":"license_key_created"},"data":%b}' % data
    parsed = PROVIDER.parse(body, {})
    assert isinstance(parsed, Envelope)
    assert parsed.event_id.split(":")[1] == key_part
    assert parsed.occurred_at == occurred_at


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b'[{"meta":{"event_name":"order_created"}}]', id="array"),
        pytest.param(b'{"data":{"id":"1"}}', id="missing-event-name"),
        pytest.param(b'{"meta":{"event_name":""}}', id="empty-event-name"),
        pytest.param(b'{"meta":"order_created"}', id="meta-not-object"),
    ],
)
def test_parse_rejects_bad_payloads(body: bytes) -> None:
    with pytest.raises(PayloadInvalid):
        PROVIDER.parse(body, {})
