"""Slack Events API: ``X-Slack-Signature: v0=<hex>`` over ``"v0:<timestamp>:" + body``,
with the timestamp in ``X-Slack-Request-Timestamp``.

A verified ``url_verification`` handshake is answered with a Challenge instead of being stored.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from domain import times
from domain.errors import PayloadInvalid, SignatureInvalid
from domain.providers import hmac_tools
from domain.providers.base import Challenge, Envelope, Keys, Provider, Verification

SCHEME = "slack-v0"


def verify(
    body: bytes, headers: Mapping[str, str], keys: Keys, now: float, tolerance: int
) -> Verification:
    signature = headers.get("x-slack-signature")
    if not signature:
        raise SignatureInvalid("missing X-Slack-Signature header")
    ts_text = headers.get("x-slack-request-timestamp")
    if not ts_text:
        raise SignatureInvalid("missing X-Slack-Request-Timestamp header")
    timestamp = hmac_tools.parse_unix_seconds(ts_text)
    if timestamp is None:
        raise SignatureInvalid("malformed X-Slack-Request-Timestamp header")
    version, _, hex_signature = signature.partition("=")
    if version != "v0" or not hex_signature:
        raise SignatureInvalid("malformed X-Slack-Signature header")
    skew = hmac_tools.check_tolerance(timestamp, now, tolerance)
    # Slack signs the timestamp exactly as sent (ASCII digits, checked above).
    msg = b"v0:%b:" % ts_text.encode("ascii") + body
    index = hmac_tools.first_matching_key(keys, msg, hmac_tools.hex_hmac_sha256, (hex_signature,))
    return Verification(SCHEME, index, skew)


class _Inner(msgspec.Struct):
    type: object = None


class _Body(msgspec.Struct):
    type: object = None
    challenge: object = None
    event_id: object = None
    event_time: object = None
    event: _Inner | None = None


def parse(body: bytes, headers: Mapping[str, str]) -> Envelope | Challenge:
    decoded = hmac_tools.decode_body(body, _Body)
    if not isinstance(decoded.type, str) or not decoded.type:
        raise PayloadInvalid("missing string type")
    if decoded.type == "url_verification":
        if not isinstance(decoded.challenge, str):
            raise PayloadInvalid("missing string challenge")
        answer = msgspec.json.encode({"challenge": decoded.challenge})
        return Challenge(body=answer, content_type="application/json")
    if not isinstance(decoded.event_id, str) or not decoded.event_id:
        raise PayloadInvalid("missing string event_id")
    event_type = decoded.type
    if (
        decoded.type == "event_callback"
        and decoded.event is not None
        and isinstance(decoded.event.type, str)
        and decoded.event.type
    ):
        event_type = decoded.event.type
    return Envelope(decoded.event_id, event_type, times.utc_from_unix(decoded.event_time))


PROVIDER = Provider(
    name="slack",
    secret_env="SLACK_SIGNING_SECRET",  # noqa: S106 - an environment variable name, not a secret
    load_keys=hmac_tools.utf8_keys,
    verify=verify,
    parse=parse,
    signed_headers=("x-slack-signature", "x-slack-request-timestamp"),
)
