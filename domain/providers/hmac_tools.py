"""Small pure helpers shared by the provider adapters.

Signature side: HMAC-SHA256 digests, constant-time comparison, the timestamp tolerance check,
the "try every configured key" loop and secret-list handling.
Envelope side: JSON decoding into a msgspec Struct and turning provider times into UTC datetimes.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import msgspec

from domain.errors import PayloadInvalid, SignatureInvalid
from domain.providers.base import Keys

T = TypeVar("T")

Signer = Callable[[bytes, bytes], str]
"""``signer(key, msg)`` returning the signature in the text form the provider sends."""

_MAX_TIMESTAMP_DIGITS = 12  # far beyond any plausible unix time; keeps int() cheap


def hex_hmac_sha256(key: bytes, msg: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of ``msg``."""
    return hmac.digest(key, msg, "sha256").hex()


def b64_hmac_sha256(key: bytes, msg: bytes) -> str:
    """Standard (padded) base64 HMAC-SHA256 of ``msg``."""
    return base64.b64encode(hmac.digest(key, msg, "sha256")).decode("ascii")


def first_matching_key(keys: Keys, msg: bytes, signer: Signer, candidates: Iterable[str]) -> int:
    """Index of the first key whose signature of ``msg`` equals any candidate.

    Raises SignatureInvalid when none does (including when no key is configured).
    """
    # hmac.compare_digest refuses non-ASCII str; such a candidate can never match anyway.
    usable = [candidate for candidate in candidates if candidate.isascii()]
    for index, key in enumerate(keys):
        expected = signer(key, msg)
        for candidate in usable:
            if hmac.compare_digest(expected, candidate):
                return index
    raise SignatureInvalid("no matching signature")


def parse_unix_seconds(text: str | None) -> int | None:
    """Whole unix seconds written as plain ASCII digits, else None (no sign, space or ``_``)."""
    if not text or len(text) > _MAX_TIMESTAMP_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def check_tolerance(timestamp: int, now: float, tolerance: int) -> int:
    """Skew ``int(now - timestamp)``; raises SignatureInvalid when ``|now - timestamp|``
    exceeds ``tolerance`` (too far in the future fails just like too old)."""
    delta = now - timestamp
    if not -tolerance <= delta <= tolerance:
        raise SignatureInvalid("timestamp outside tolerance")
    return int(delta)


def split_secrets(raw: str) -> list[str]:
    """Splits a comma-separated secret list, trimming whitespace and dropping blank entries."""
    return [part for part in (piece.strip() for piece in raw.split(",")) if part]


def utf8_keys(secrets: Sequence[str]) -> Keys:
    """Keys that are the secret strings' UTF-8 bytes (Stripe, Lemon Squeezy, Slack)."""
    if not secrets:
        raise ValueError("no secrets configured")
    keys = []
    for position, secret in enumerate(secrets):
        if not secret.strip():
            raise ValueError(f"secret #{position} is empty")
        keys.append(secret.encode("utf-8"))
    return tuple(keys)


def decode_body(body: bytes, shape: type[T]) -> T:
    """Decodes a JSON object into ``shape``; raises PayloadInvalid otherwise.

    The whole body must be UTF-8 (RFC 8259), not only the fields ``shape`` reads: msgspec skips
    unknown fields without checking them, and a stored body must stay readable as text and jsonb.
    Nesting deeper than msgspec's recursion limit is refused the same way.
    """
    if not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadInvalid("body is not valid UTF-8") from None
    try:
        return msgspec.json.decode(body, type=shape)
    except msgspec.ValidationError:
        raise PayloadInvalid("body is not a JSON object of the expected shape") from None
    except msgspec.DecodeError:
        raise PayloadInvalid("body is not valid JSON") from None
    except RecursionError:
        raise PayloadInvalid("body nests too deeply") from None
