"""Stripe webhooks: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`` over ``"<t>." + body``.

The HMAC key is the whole ``whsec_…`` string as UTF-8 (it is not decoded).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from domain import times
from domain.errors import PayloadInvalid, SignatureInvalid
from domain.providers import hmac_tools
from domain.providers.base import Envelope, Keys, Provider, Verification

SCHEME = "stripe-v1"


def verify(
    body: bytes, headers: Mapping[str, str], keys: Keys, now: float, tolerance: int
) -> Verification:
    header = headers.get("stripe-signature")
    if not header:
        raise SignatureInvalid("missing Stripe-Signature header")
    t_text: str | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, _, value = item.partition("=")
        if name == "t":
            if t_text is None:  # the first t wins, as in Stripe's own libraries
                t_text = value
        elif name == "v1":
            signatures.append(value)
        # v0 (test-mode legacy) and unknown schemes are ignored on purpose.
    timestamp = hmac_tools.parse_unix_seconds(t_text)
    if timestamp is None or not signatures:
        raise SignatureInvalid("malformed Stripe-Signature header")
    skew = hmac_tools.check_tolerance(timestamp, now, tolerance)
    # Stripe signs the canonical decimal form of t, so "t=0123" is checked as "123.".
    msg = b"%d." % timestamp + body
    index = hmac_tools.first_matching_key(keys, msg, hmac_tools.hex_hmac_sha256, signatures)
    return Verification(SCHEME, index, skew)


class _Event(msgspec.Struct):
    id: object = None
    type: object = None
    created: object = None


def parse(body: bytes, headers: Mapping[str, str]) -> Envelope:
    event = hmac_tools.decode_body(body, _Event)
    if not isinstance(event.id, str) or not event.id:
        raise PayloadInvalid("missing string event id")
    if not isinstance(event.type, str) or not event.type:
        raise PayloadInvalid("missing string event type")
    return Envelope(event.id, event.type, times.utc_from_unix(event.created))


PROVIDER = Provider(
    name="stripe",
    secret_env="STRIPE_WEBHOOK_SECRET",  # noqa: S106 - an environment variable name, not a secret
    load_keys=hmac_tools.utf8_keys,
    verify=verify,
    parse=parse,
    signed_headers=("stripe-signature",),
)
