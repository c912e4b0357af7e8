"""Lemon Squeezy webhooks: ``X-Signature: <hex HMAC-SHA256 of the raw body>``, no timestamp.

Deliveries carry no event ID, so the event key is derived from the body: an identical
redelivery gets the same key and is stored once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import msgspec

from domain import times
from domain.errors import PayloadInvalid, SignatureInvalid
from domain.providers import hmac_tools
from domain.providers.base import Envelope, Keys, Provider, Verification

SCHEME = "hmac-sha256-hex"


def verify(
    body: bytes, headers: Mapping[str, str], keys: Keys, now: float, tolerance: int
) -> Verification:
    signature = headers.get("x-signature")
    if not signature:
        raise SignatureInvalid("missing X-Signature header")
    # Hex is case-insensitive; our digests are lower-case.
    index = hmac_tools.first_matching_key(
        keys, body, hmac_tools.hex_hmac_sha256, (signature.lower(),)
    )
    return Verification(SCHEME, index, None)


class _Attributes(msgspec.Struct):
    updated_at: object = None
    created_at: object = None


class _Data(msgspec.Struct):
    id: object = None
    attributes: _Attributes | None = None


class _Meta(msgspec.Struct):
    event_name: object = None


class _Body(msgspec.Struct):
    meta: _Meta | None = None
    data: _Data | None = None


def _data_id(data: _Data | None) -> str:
    if data is None:
        return "-"
    if isinstance(data.id, str) and data.id:
        return data.id
    if type(data.id) is int:
        return str(data.id)
    return "-"


def parse(body: bytes, headers: Mapping[str, str]) -> Envelope:
    decoded = hmac_tools.decode_body(body, _Body)
    event_name = decoded.meta.event_name if decoded.meta is not None else None
    if not isinstance(event_name, str) or not event_name:
        event_name = headers.get("x-event-name")
    if not event_name:
        raise PayloadInvalid("missing event name")
    digest = hashlib.sha256(body).hexdigest()[:32]
    key = f"{event_name}:{_data_id(decoded.data)}:{digest}"
    attributes = decoded.data.attributes if decoded.data is not None else None
    occurred_at = None
    if attributes is not None:
        occurred_at = times.utc_from_iso(attributes.updated_at) or times.utc_from_iso(
            attributes.created_at
        )
    return Envelope(key, event_name, occurred_at)


PROVIDER = Provider(
    name="lemonsqueezy",
    secret_env="LEMONSQUEEZY_WEBHOOK_SECRET",  # noqa: S106 - an environment variable name, not a secret
    load_keys=hmac_tools.utf8_keys,
    verify=verify,
    parse=parse,
    signed_headers=("x-signature", "x-event-name"),
    aliases=("squeezy",),
)
