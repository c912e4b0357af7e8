"""The intake use case: verify raw bytes, parse the envelope, append once, answer.

Order is a security invariant: nothing is parsed before the signature over the exact raw bytes
has been verified, and nothing unverified reaches the appender. Every answer is a small JSON
document that never echoes a secret, a signature or the body.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import msgspec

from app.appender import AppendOutcome, NewEvent, build_event
from app.db import DatabaseUnavailable
from app.metrics import Metrics
from app.rejections import RejectionTally
from domain.errors import PayloadInvalid, SignatureInvalid
from domain.providers.base import Challenge, Keys, Provider
from domain.providers.registry import resolve

log = logging.getLogger("hookledger.intake")
_json = msgspec.json.Encoder()
_MAX_KEY_CHARS = 512


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


def error_answer(status_code: int, code: str, detail: str, **headers: str) -> Answer:
    return Answer(status_code, _json.encode({"error": code, "detail": detail}), headers=headers)


class Appender(Protocol):
    """Where verified deliveries go (the group-commit appender; a benchmark may pass a no-op)."""

    async def append(self, event: NewEvent) -> AppendOutcome: ...


@dataclass(slots=True)
class Intake:
    keys: Mapping[str, Keys]
    """Prepared keys of the enabled providers only; a provider absent here is disabled."""
    appender: Appender
    metrics: Metrics
    tolerance_seconds: int
    retry_after_seconds: int
    rejections: RejectionTally = field(default_factory=RejectionTally)
    """Rejections per remote address: every one counted, logged at counts 1, 2, 4, 8, …"""

    def provider_for(self, route_name: str) -> Provider | None:
        """The enabled provider behind a route name or alias, else None (answered 404)."""
        provider = resolve(route_name)
        if provider is None or provider.name not in self.keys:
            return None
        return provider

    async def receive(
        self,
        provider: Provider,
        body: bytes,
        headers: Mapping[str, str],
        now: float,
        remote: str,
    ) -> Answer:
        try:
            verification = provider.verify(
                body, headers, self.keys[provider.name], now, self.tolerance_seconds
            )
        except SignatureInvalid as exc:
            return self._reject(provider.name, 401, "invalid_signature", exc.reason, remote)
        try:
            envelope = provider.parse(body, headers)
        except PayloadInvalid as exc:
            return self._reject(provider.name, 400, "invalid_payload", exc.reason, remote)
        if isinstance(envelope, Challenge):
            return Answer(200, envelope.body, envelope.content_type)
        for name, value in (("event id", envelope.event_id), ("event type", envelope.event_type)):
            # PostgreSQL text cannot hold NUL; an unbounded key would bloat the unique index.
            if not value or "\x00" in value or len(value) > _MAX_KEY_CHARS:
                reason = f"{name} is empty, too long or contains NUL"
                return self._reject(provider.name, 400, "invalid_payload", reason, remote)

        stored_headers = {h: headers[h] for h in provider.signed_headers if h in headers}
        event = build_event(
            provider=provider.name,
            envelope=envelope,
            verification=verification,
            body=body,
            headers_json=_json.encode(stored_headers).decode(),
            received_at=datetime.fromtimestamp(now, UTC),
        )
        try:
            outcome = await self.appender.append(event)
        except DatabaseUnavailable as exc:
            log.warning("database unavailable, answered 503: provider=%s (%s)", provider.name, exc)
            self.metrics.count("unavailable", provider.name)
            return error_answer(
                503,
                "database_unavailable",
                "the event log is unavailable; retry later",
                **{"Retry-After": str(self.retry_after_seconds)},
            )
        self.metrics.count(outcome.status, provider.name)
        payload: dict[str, object] = {
            "status": outcome.status,
            "provider": provider.name,
            "event_id": envelope.event_id,
        }
        if outcome.position is not None:
            payload["position"] = outcome.position
        return Answer(200, _json.encode(payload))

    def _reject(self, provider: str, status: int, code: str, reason: str, remote: str) -> Answer:
        self.metrics.count("rejected", provider, reason)
        count, worth_logging = self.rejections.record(remote)
        if worth_logging:
            log.warning(
                "rejected delivery: provider=%s reason=%s remote=%s rejections_from_remote=%d",
                provider,
                reason,
                remote,
                count,
            )
        return error_answer(status, code, reason)
