"""Errors raised by the pure core. Their messages are safe to show to a caller:
they never contain a secret, a signature or the request body."""


class WebhookRejected(Exception):
    """Base class: a delivery that must be refused and not stored."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SignatureInvalid(WebhookRejected):
    """Missing, malformed or wrong signature, or a timestamp outside the tolerance (HTTP 401)."""


class PayloadInvalid(WebhookRejected):
    """Verified, but not a JSON object or without the fields that key the event (HTTP 400)."""


class MappingError(Exception):
    """A stored event of a mapped type lacks what its mapping needs; the projection parks it."""
