"""FramerAuth (Standard Webhooks) adapter, checked against the ``standardwebhooks`` SDK.

The SDK reads ``datetime.now`` inside ``standardwebhooks.webhooks``; we swap that module's
``datetime`` name for one with a fixed ``now``. Its tolerance is fixed at five minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import webhooks as sw_module
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from domain.errors import PayloadInvalid, SignatureInvalid
from domain.providers.base import Envelope, Verification
from domain.providers.framerauth import PROVIDER

SECRET = "whsec_ZnJhbWVyYXV0aC1wcmltYXJ5LXNpZ25pbmcta2V5ISE="
ROTATED = "whsec_ZnJhbWVyYXV0aC1yb3RhdGVkLXNpZ25pbmcta2V5ISE="
NOW = 1_700_000_000.0
TS = int(NOW)
TOLERANCE = 300  # standardwebhooks hard-codes timedelta(minutes=5)
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
BODY = b'{"type":"user.created","timestamp":"2024-01-31T12:00:00.000000Z","data":{"id":"u1"}}'


def sign(body: bytes, secret: str = SECRET, timestamp: int = TS, msg_id: str = MSG_ID) -> str:
    signature: str = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body)
    return signature


def sw_headers(signature: str, timestamp: int | str = TS, msg_id: str = MSG_ID) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def as_svix(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.replace("webhook-", "svix-"): value for name, value in headers.items()}


@contextmanager
def sdk_clock(now: float) -> Iterator[None]:
    frozen = SimpleNamespace(
        now=lambda tz=None: datetime.fromtimestamp(now, tz),
        fromtimestamp=datetime.fromtimestamp,
    )
    with mock.patch.object(sw_module, "datetime", frozen):
        yield


def sdk_accepts(body: bytes, headers: Mapping[str, str], secret: str = SECRET) -> bool:
    with sdk_clock(NOW):
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
        except WebhookVerificationError:
            return False
    return True


def verify(
    body: bytes, headers: Mapping[str, str], secrets: Sequence[str] = (SECRET,), now: float = NOW
) -> Verification:
    return PROVIDER.verify(body, headers, PROVIDER.load_keys(secrets), now, TOLERANCE)


# --- verify ---------------------------------------------------------------------------------------


def test_sdk_signed_delivery_passes() -> None:
    headers = sw_headers(sign(BODY))
    assert verify(BODY, headers) == Verification("standard-webhooks-v1", 0, 0)
    assert sdk_accepts(BODY, headers)


def test_svix_header_names_pass() -> None:
    headers = sw_headers(sign(BODY))
    assert verify(BODY, as_svix(headers)).secret_index == 0
    assert sdk_accepts(BODY, headers)  # the SDK only reads webhook-*; same values, same verdict


def test_webhook_headers_take_precedence_over_svix_ones() -> None:
    headers = sw_headers(sign(BODY)) | as_svix(sw_headers("v1,AAAA", msg_id="msg_other"))
    assert verify(BODY, headers).secret_index == 0


def test_rotation_reports_the_index_of_the_matching_secret() -> None:
    headers = sw_headers(sign(BODY, ROTATED))
    assert verify(BODY, headers, secrets=(SECRET, ROTATED)).secret_index == 1


def test_one_right_signature_among_several_v1_passes() -> None:
    decoy = "v1," + base64.b64encode(b"\x00" * 32).decode()
    headers = sw_headers(f"{decoy} v1a,AAAA {sign(BODY)} v2,BBBB")
    assert verify(BODY, headers).secret_index == 0
    assert sdk_accepts(BODY, headers)


def test_unprefixed_and_unpadded_secrets_give_the_same_key() -> None:
    bare = SECRET.removeprefix("whsec_")
    assert PROVIDER.load_keys([bare, bare.rstrip("=")]) == PROVIDER.load_keys([SECRET, SECRET])


@pytest.mark.parametrize(
    "secret", ["whsec_not base64!", "whsec_ab!cd", "whsec_é", "whsec_A", "whsec_", ""]
)
def test_load_keys_rejects_bad_secrets_without_echoing_them(secret: str) -> None:
    with pytest.raises(ValueError, match=r"secret #1 ") as caught:
        PROVIDER.load_keys([SECRET, secret])
    if fragment := secret.removeprefix("whsec_"):
        assert fragment not in str(caught.value)


def test_sdk_silently_drops_non_base64_characters_where_we_refuse_the_secret() -> None:
    assert Webhook("whsec_ab!cd")._whsecret == base64.b64decode("abcd")
    with pytest.raises(ValueError, match="not valid base64"):
        PROVIDER.load_keys(["whsec_ab!cd"])


def test_verify_does_not_parse_json() -> None:
    body = b"\xff\xfe binary, not JSON"
    assert verify(body, sw_headers(sign(body))).secret_index == 0


def test_tampered_body_fails() -> None:
    headers = sw_headers(sign(BODY))
    tampered = BODY.replace(b"u1", b"u2")
    with pytest.raises(SignatureInvalid, match="no matching signature"):
        verify(tampered, headers)
    assert not sdk_accepts(tampered, headers)


def test_wrong_secret_fails() -> None:
    signature = sign(BODY, ROTATED)
    with pytest.raises(SignatureInvalid, match="no matching signature") as caught:
        verify(BODY, sw_headers(signature))
    assert signature.removeprefix("v1,") not in caught.value.reason
    assert not sdk_accepts(BODY, sw_headers(signature))


def test_signed_id_is_bound_to_the_signature() -> None:
    headers = sw_headers(sign(BODY), msg_id="msg_replayed_under_new_id")
    with pytest.raises(SignatureInvalid, match="no matching signature"):
        verify(BODY, headers)
    assert not sdk_accepts(BODY, headers)


@pytest.mark.parametrize("offset", [TOLERANCE + 1, -TOLERANCE - 1], ids=["stale", "future"])
def test_timestamp_outside_tolerance_fails_both_ways_like_the_sdk(offset: int) -> None:
    headers = sw_headers(sign(BODY, timestamp=TS - offset), timestamp=TS - offset)
    with pytest.raises(SignatureInvalid, match="timestamp outside tolerance"):
        verify(BODY, headers)
    assert not sdk_accepts(BODY, headers)


@pytest.mark.parametrize("offset", [TOLERANCE, -TOLERANCE])
def test_timestamp_exactly_at_tolerance_passes_like_the_sdk(offset: int) -> None:
    headers = sw_headers(sign(BODY, timestamp=TS - offset), timestamp=TS - offset)
    assert verify(BODY, headers).skew_seconds == offset
    assert sdk_accepts(BODY, headers)


@pytest.mark.parametrize("missing", ["id", "timestamp", "signature"])
@pytest.mark.parametrize("prefix", ["webhook-", "svix-"])
def test_missing_header_fails(missing: str, prefix: str) -> None:
    headers = {
        name.replace("webhook-", prefix): value
        for name, value in sw_headers(sign(BODY)).items()
        if name != f"webhook-{missing}"
    }
    with pytest.raises(SignatureInvalid, match=f"missing webhook-{missing} header"):
        verify(BODY, headers)


@pytest.mark.parametrize("timestamp", ["abc", f"{TS}.0", f"-{TS}", "1e9"])
def test_malformed_timestamp_fails(timestamp: str) -> None:
    with pytest.raises(SignatureInvalid, match="malformed webhook-timestamp header"):
        verify(BODY, sw_headers(sign(BODY), timestamp=timestamp))


def test_fractional_timestamp_is_rejected_although_the_sdk_floors_it() -> None:
    headers = sw_headers(sign(BODY), timestamp=f"{TS}.9")
    with pytest.raises(SignatureInvalid, match="malformed"):
        verify(BODY, headers)
    assert sdk_accepts(BODY, headers)  # float() then floor(): "…0.9" is signed as "…0"


def test_leading_zero_timestamp_is_signed_in_canonical_form_like_the_sdk() -> None:
    headers = sw_headers(sign(BODY), timestamp=f"0{TS}")
    assert verify(BODY, headers).secret_index == 0
    assert sdk_accepts(BODY, headers)


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("v1a," + sign(BODY).removeprefix("v1,"), id="v1a"),
        pytest.param("v2," + sign(BODY).removeprefix("v1,"), id="v2"),
        pytest.param(sign(BODY).removeprefix("v1,"), id="unversioned"),
        pytest.param("v1a,AAAA v1b,BBBB", id="several-unknown"),
    ],
)
def test_only_unknown_versions_fail_and_the_sdk_agrees(signature: str) -> None:
    with pytest.raises(SignatureInvalid, match="no v1 signature"):
        verify(BODY, sw_headers(signature))
    assert not sdk_accepts(BODY, sw_headers(signature))


@pytest.mark.parametrize(
    "foreign_message",
    [
        pytest.param(b"%d." % TS + BODY, id="stripe-message"),
        pytest.param(b"v0:%d:" % TS + BODY, id="slack-message"),
        pytest.param(BODY, id="lemonsqueezy-body-only"),
    ],
)
def test_signature_valid_for_another_scheme_fails(foreign_message: bytes) -> None:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, foreign_message, hashlib.sha256).digest()
    for signature in ("v1," + base64.b64encode(digest).decode(), "v1," + digest.hex()):
        with pytest.raises(SignatureInvalid, match="no matching signature"):
            verify(BODY, sw_headers(signature))
        assert not sdk_accepts(BODY, sw_headers(signature))


# --- verify: property against the SDK ----------------------------------------------------------


@given(
    body=st.binary(max_size=300),
    key=st.binary(min_size=1, max_size=64),
    msg_id=st.text(st.characters(codec="utf-8", exclude_characters=" "), min_size=1, max_size=30),
    offset=st.integers(min_value=-2 * TOLERANCE, max_value=2 * TOLERANCE),
    mutation=st.sampled_from(["none", "tamper", "other-key", "v1a", "decoys", "svix"]),
)
def test_accepts_exactly_what_the_sdk_accepts(
    body: bytes, key: bytes, msg_id: str, offset: int, mutation: str
) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    signer = "whsec_" + base64.b64encode(key + b"x").decode() if mutation == "other-key" else secret
    timestamp = TS - offset
    signature = sign(body, signer, timestamp, msg_id)
    signature = {
        "v1a": signature.replace("v1,", "v1a,"),
        "decoys": f"v1,AAAA {signature} v2,BBBB",
    }.get(mutation, signature)
    headers = sw_headers(signature, timestamp, msg_id)
    delivered = body + b"\n" if mutation == "tamper" else body
    try:
        verify(delivered, as_svix(headers) if mutation == "svix" else headers, (secret,))
        ours = True
    except SignatureInvalid:
        ours = False
    assert ours == sdk_accepts(delivered, headers, secret)


# --- parse ---------------------------------------------------------------------------------------


def test_parse_good_envelope() -> None:
    headers = sw_headers(sign(BODY))
    assert PROVIDER.parse(BODY, headers) == Envelope(
        MSG_ID, "user.created", datetime(2024, 1, 31, 12, tzinfo=UTC)
    )
    assert PROVIDER.parse(BODY, as_svix(headers)) == PROVIDER.parse(BODY, headers)


@pytest.mark.parametrize(
    "body", [b'{"type":"user.deleted"}', b'{"type":"user.deleted","timestamp":"yesterday"}']
)
def test_parse_falls_back_to_the_header_timestamp(body: bytes) -> None:
    assert PROVIDER.parse(body, sw_headers("v1,x")) == Envelope(
        MSG_ID, "user.deleted", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        pytest.param(b"not json", sw_headers("v1,x"), id="not-json"),
        pytest.param(b'[{"type":"user.created"}]', sw_headers("v1,x"), id="array"),
        pytest.param(b'{"data":{}}', sw_headers("v1,x"), id="missing-type"),
        pytest.param(b'{"type":1}', sw_headers("v1,x"), id="non-string-type"),
        pytest.param(BODY, {"webhook-timestamp": str(TS)}, id="missing-id-header"),
    ],
)
def test_parse_rejects_bad_payloads(body: bytes, headers: dict[str, str]) -> None:
    with pytest.raises(PayloadInvalid):
        PROVIDER.parse(body, headers)
