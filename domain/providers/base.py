"""The contract every provider adapter fulfils: verify raw bytes, then parse the envelope.

Adapters are pure: no I/O, no clock (``now`` is injected), no environment reads.
Header mappings passed in always have lower-case names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec


class Verification(msgspec.Struct, frozen=True):
    """Evidence of a passed signature check. Never holds the secret itself."""

    scheme: str
    """Signature scheme name, e.g. ``stripe-v1``, ``hmac-sha256-hex``, ``slack-v0``,
    ``standard-webhooks-v1``."""
    secret_index: int
    """Position (0-based) of the configured secret that matched."""
    skew_seconds: int | None
    """``now - signed timestamp`` in whole seconds, ``None`` where the scheme has no timestamp."""


class Envelope(msgspec.Struct, frozen=True):
    """What the log needs to know about one verified delivery."""

    event_id: str
    """The provider's event ID, or a deterministic key derived from the delivery."""
    event_type: str
    occurred_at: datetime | None
    """Provider-side time of the event (timezone-aware UTC), where the provider gives one."""


class Challenge(msgspec.Struct, frozen=True):
    """A verified handshake the provider expects answered, not stored (Slack url_verification)."""

    body: bytes
    content_type: str


Keys = Sequence[bytes]
"""Secrets prepared by ``load_keys`` (e.g. base64-decoded), in configuration order."""


@dataclass(frozen=True, slots=True)
class Provider:
    """One provider adapter. Adding a provider is one module exporting ``PROVIDER``
    plus one line in ``domain.providers.registry``."""

    name: str
    secret_env: str
    """Name of the environment variable holding its comma-separated secrets."""
    load_keys: Callable[[Sequence[str]], Keys]
    """Turns configured secret strings into HMAC keys; raises ValueError on a malformed secret
    (message must not contain the secret)."""
    verify: Callable[[bytes, Mapping[str, str], Keys, float, int], Verification]
    """``verify(body, headers, keys, now, tolerance_seconds)``; raises SignatureInvalid."""
    parse: Callable[[bytes, Mapping[str, str]], Envelope | Challenge]
    """``parse(body, headers)``; raises PayloadInvalid."""
    signed_headers: tuple[str, ...]
    """Lower-case header names stored with the event so it can be re-verified later."""
    aliases: tuple[str, ...] = ()
