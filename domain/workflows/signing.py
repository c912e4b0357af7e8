"""Idempotency keys of jobs and the Standard Webhooks signature of forwarded events.

Signature: ``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed
with the base64-decoded part of a ``whsec_…`` secret (the ``standardwebhooks`` library verifies
it). Several secrets (rotation) give several space-separated signatures; any one verifies.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import uuid
from collections.abc import Sequence

# Fixed forever: changing it would give every job a different idempotency key.
JOB_NAMESPACE = uuid.UUID("5d0f3f7e-2c51-4d1e-8a6b-6f7574626f78")
_PREFIX = "whsec_"


def idempotency_key(workflow: str, provider: str, event_id: str) -> str:
    """The same workflow and event always give the same key (the receiver dedupes on it)."""
    return "hljob_" + uuid.uuid5(JOB_NAMESPACE, f"{workflow}\x00{provider}\x00{event_id}").hex


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` (or bare base64) secret; ValueError if malformed."""
    encoded = secret.strip().removeprefix(_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not a Standard Webhooks secret (whsec_ followed by base64)") from None
    if not key:
        raise ValueError("the secret is empty")
    return key


def sign(keys: Sequence[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for ``body``."""
    msg = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.digest(key, msg, "sha256")).decode("ascii") for key in keys
    )
