"""The ``forward`` action: POST the event's body, byte for byte, to an internal URL (httpx),
signed the Standard Webhooks way so the receiver can verify it with the ``standardwebhooks``
library.

Fields: ``url`` and ``secret_env`` (the environment variable holding the ``whsec_…`` signing
secret; several comma-separated secrets sign with each, for rotation). Headers: ``webhook-id``
and ``Idempotency-Key`` (both the job's idempotency key), ``webhook-timestamp``,
``webhook-signature``. Any 2xx is success; anything else is retried.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from app.actions.base import ActionFailed, ActionType, JobRun
from domain.workflows import ActionConfig, FieldError
from domain.workflows.signing import decode_secret, sign

if TYPE_CHECKING:
    import httpx

    from app.settings import Settings


class ForwardConfig(ActionConfig, frozen=True):
    url: str
    secret_env: str

    def check(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise FieldError("url", f"{self.url!r} is not an http:// or https:// URL")


class ForwardSender:
    def __init__(self, settings: Settings) -> None:
        import httpx  # slow to import: only where forwarding is configured

        self.keys = {
            name: [decode_secret(v) for v in secret.values]
            for name, secret in settings.workflow_secrets.items()
        }
        self.client: httpx.AsyncClient = httpx.AsyncClient(
            timeout=settings.outbox_timeout_seconds, follow_redirects=False, trust_env=False
        )

    async def send(self, config: ForwardConfig, run: JobRun) -> str:
        import httpx

        body = run.event.body
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "hookledger",
            "webhook-id": run.idempotency_key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(
                self.keys[config.secret_env], run.idempotency_key, timestamp, body
            ),
            "idempotency-key": run.idempotency_key,
        }
        try:
            response = await self.client.post(config.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ActionFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
        if 200 <= response.status_code < 300:
            return f"HTTP {response.status_code}"
        raise ActionFailed(f"HTTP {response.status_code} {response.reason_phrase}"[:300])

    async def close(self) -> None:
        await self.client.aclose()


ACTION = ActionType("forward", ForwardConfig, ForwardSender, check_secret=decode_secret)
