"""FramerAuth webhooks, which follow Standard Webhooks: ``webhook-signature: v1,<base64> …``
over ``"<webhook-id>.<webhook-timestamp>." + body``. The ``svix-*`` header names are accepted
where the ``webhook-*`` ones are absent.

Secrets look like ``whsec_<base64>``; the HMAC key is the base64-decoded part.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence

import msgspec

from domain import times
from domain.errors import PayloadInvalid, SignatureInvalid
from domain.providers import hmac_tools
from domain.providers.base import Envelope, Keys, Provider, Verification

SCHEME = "standard-webhooks-v1"
_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def load_keys(secrets: Sequence[str]) -> Keys:
    if not secrets:
        raise ValueError("no secrets configured")
    keys = []
    for position, secret in enumerate(secrets):
        encoded = secret.removeprefix(_SECRET_PREFIX)
        try:
            # Unpadded base64 is common in the wild; strict otherwise (no junk characters).
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"secret #{position} is not valid base64") from None
        if not key:
            raise ValueError(f"secret #{position} is empty")
        keys.append(key)
    return tuple(keys)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return headers.get(f"webhook-{name}") or headers.get(f"svix-{name}")


def verify(
    body: bytes, headers: Mapping[str, str], keys: Keys, now: float, tolerance: int
) -> Verification:
    msg_id = _header(headers, "id")
    if not msg_id:
        raise SignatureInvalid("missing webhook-id header")
    ts_text = _header(headers, "timestamp")
    if not ts_text:
        raise SignatureInvalid("missing webhook-timestamp header")
    signature = _header(headers, "signature")
    if not signature:
        raise SignatureInvalid("missing webhook-signature header")
    timestamp = hmac_tools.parse_unix_seconds(ts_text)
    if timestamp is None:
        raise SignatureInvalid("malformed webhook-timestamp header")
    candidates = [
        value
        for version, _, value in (entry.partition(",") for entry in signature.split())
        if version == "v1"
    ]
    if not candidates:
        raise SignatureInvalid("no v1 signature in webhook-signature header")
    skew = hmac_tools.check_tolerance(timestamp, now, tolerance)
    try:
        id_bytes = msg_id.encode("utf-8")
    except UnicodeEncodeError:
        raise SignatureInvalid("malformed webhook-id header") from None
    # The reference libraries sign the canonical decimal timestamp, like Stripe.
    msg = b"%b.%d." % (id_bytes, timestamp) + body
    index = hmac_tools.first_matching_key(keys, msg, hmac_tools.b64_hmac_sha256, candidates)
    return Verification(SCHEME, index, skew)


class _Body(msgspec.Struct):
    type: object = None
    timestamp: object = None


def parse(body: bytes, headers: Mapping[str, str]) -> Envelope:
    decoded = hmac_tools.decode_body(body, _Body)
    msg_id = _header(headers, "id")
    if not msg_id:
        raise PayloadInvalid("missing webhook-id header")
    if not isinstance(decoded.type, str) or not decoded.type:
        raise PayloadInvalid("missing string type")
    occurred_at = times.utc_from_iso(decoded.timestamp)
    if occurred_at is None:
        header_ts = hmac_tools.parse_unix_seconds(_header(headers, "timestamp"))
        occurred_at = times.utc_from_unix(header_ts)
    return Envelope(msg_id, decoded.type, occurred_at)


PROVIDER = Provider(
    name="framerauth",
    secret_env="FRAMERAUTH_WEBHOOK_SECRET",  # noqa: S106 - an environment variable name, not a secret
    load_keys=load_keys,
    verify=verify,
    parse=parse,
    signed_headers=(
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "svix-id",
        "svix-timestamp",
        "svix-signature",
    ),
)
