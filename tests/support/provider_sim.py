"""A webhook provider that retries, like Stripe does: it sends pre-signed deliveries with bounded
concurrency and retries each one until it gets a 2xx, recording every answer with its time.

Connection errors, timeouts, 5xx, 408 and 429 are retried with a small jittered backoff. Any other
4xx is final (a forged delivery gets 401 and is never retried). A delivery that got a 2xx is done.

Use it from tests (``ProviderSimulator(...).run()``), from tests/reliability, or by hand against a
running service::

    STRIPE_WEBHOOK_SECRET=whsec_… python -m tests.support.provider_sim http://127.0.0.1:8000 500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tests.support import signing
from tests.support.keepalive_client import KeepAliveClient, TransportFailure

_RETRY_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Delivery:
    event_id: str
    body: bytes
    headers: Mapping[str, str]
    forged: bool = False
    path: str = "/webhooks/stripe"
    provider: str = "stripe"

    @property
    def key(self) -> tuple[str, str]:
        """What the log is keyed by: (provider, the event id the provider's parse derives)."""
        return (self.provider, self.event_id)


@dataclass(frozen=True, slots=True)
class Answer:
    sent_at: float
    """``time.monotonic()`` when the request was sent."""
    answered_at: float
    status: int | None
    """None: no HTTP answer (refused, reset, timed out); ``error`` names the exception."""
    error: str = ""
    outcome: str = ""
    """The service's ``status`` field on a 2xx (``accepted`` / ``duplicate``)."""
    retry_after: str | None = None


@dataclass(slots=True)
class DeliveryRecord:
    delivery: Delivery
    answers: list[Answer] = field(default_factory=list)

    @property
    def acked_at(self) -> float | None:
        """When the first 2xx arrived, else None."""
        return next((a.answered_at for a in self.answers if _is_2xx(a.status)), None)

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None


def _is_2xx(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


@dataclass(frozen=True, slots=True)
class SimReport:
    records: list[DeliveryRecord]
    started_at: float
    finished_at: float

    @property
    def answers(self) -> list[tuple[DeliveryRecord, Answer]]:
        return [(r, a) for r in self.records for a in r.answers]

    @property
    def genuine(self) -> list[DeliveryRecord]:
        return [r for r in self.records if not r.delivery.forged]

    @property
    def acknowledged_keys(self) -> set[tuple[str, str]]:
        return {r.delivery.key for r in self.genuine if r.acknowledged}

    @property
    def forged_accepted(self) -> int:
        return sum(1 for r in self.records if r.delivery.forged and r.acknowledged)

    @property
    def unacknowledged(self) -> int:
        return sum(1 for r in self.genuine if not r.acknowledged)

    def status_counts(self) -> Counter[str]:
        return Counter(str(a.status or a.error) for _, a in self.answers)

    def outcome_counts(self) -> Counter[str]:
        return Counter(a.outcome for _, a in self.answers if a.outcome)


def stripe_deliveries(
    count: int,
    *,
    prefix: str | None = None,
    forged_share: float = 0.0,
    seed: int = 0,
    secret: str = signing.STRIPE_SECRET,
) -> list[Delivery]:
    """``count`` Stripe deliveries with unique ``evt_…`` ids, signed now with the Stripe SDK; a
    ``forged_share`` of them carry a signature made with the wrong secret."""
    rng = random.Random(seed)
    run = prefix or uuid.uuid4().hex[:8]
    deliveries = []
    for n in range(count):
        event_id = f"evt_{run}_{n:07d}"
        forged = rng.random() < forged_share
        body = json.dumps(
            {
                "id": event_id,
                "object": "event",
                "type": "invoice.paid",
                "created": 1_764_000_000 + n,
                "data": {"object": {"id": f"in_{n}", "amount_paid": rng.randint(1, 10_000)}},
            }
        ).encode()
        key = "whsec_forged_by_someone_else" if forged else secret
        deliveries.append(Delivery(event_id, body, signing.stripe_headers(body, key), forged))
    return deliveries


class ProviderSimulator:
    """Sends every delivery until it is acknowledged (2xx), refused for good (4xx) or the
    simulator gives up (``give_up_after`` seconds since the run started)."""

    def __init__(
        self,
        base_url: str,
        deliveries: Sequence[Delivery],
        *,
        concurrency: int = 64,
        request_timeout: float = 10.0,
        backoff: float = 0.05,
        max_backoff: float = 0.5,
        give_up_after: float = 300.0,
        seed: int = 0,
    ) -> None:
        self.base_url = base_url
        self.records = [DeliveryRecord(d) for d in deliveries]
        self.concurrency = concurrency
        self.request_timeout = request_timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.give_up_after = give_up_after
        self.acknowledged = 0
        """Live count of deliveries acknowledged so far (for fault injectors to pace on)."""
        self.attempts = 0
        self._rng = random.Random(seed)
        self._progress = asyncio.Event()
        self._done = False

    async def wait_acknowledged(self, count: float) -> bool:
        """Wait until ``count`` deliveries are acknowledged; False if the run ended first."""
        while self.acknowledged < count and not self._done:
            self._progress.clear()
            await self._progress.wait()
        return self.acknowledged >= count

    async def run(self) -> SimReport:
        started = time.monotonic()
        pending: asyncio.Queue[DeliveryRecord] = asyncio.Queue()
        for record in self.records:
            pending.put_nowait(record)
        async with KeepAliveClient(
            self.base_url, connections=self.concurrency, timeout=self.request_timeout
        ) as http:

            async def worker() -> None:
                while not pending.empty():
                    await self._deliver(http, pending.get_nowait(), started)

            try:
                await asyncio.gather(*(worker() for _ in range(self.concurrency)))
            finally:
                self._done = True
                self._progress.set()
        return SimReport(self.records, started, time.monotonic())

    async def _deliver(self, http: KeepAliveClient, record: DeliveryRecord, started: float) -> None:
        delay = self.backoff
        while True:
            answer = await self._send(http, record.delivery)
            record.answers.append(answer)
            self.attempts += 1
            if _is_2xx(answer.status):
                self.acknowledged += 1
                self._progress.set()
                return
            if (
                answer.status is not None
                and answer.status < 500
                and answer.status not in _RETRY_STATUSES
            ):
                return
            if time.monotonic() - started > self.give_up_after:
                return
            await asyncio.sleep(delay * (0.5 + self._rng.random()))
            delay = min(delay * 2, self.max_backoff)

    async def _send(self, http: KeepAliveClient, delivery: Delivery) -> Answer:
        sent = time.monotonic()
        try:
            response = await http.post(delivery.path, delivery.body, delivery.headers)
        except TransportFailure as exc:
            return Answer(sent, time.monotonic(), None, exc.kind)
        outcome = ""
        if _is_2xx(response.status):
            try:
                outcome = str(json.loads(response.body).get("status", ""))
            except ValueError:
                outcome = "not-json"
        return Answer(
            sent,
            time.monotonic(),
            response.status,
            outcome=outcome,
            retry_after=response.headers.get("retry-after"),
        )


def summary(report: SimReport) -> dict[str, object]:
    return {
        "deliveries": len(report.records),
        "forged": len(report.records) - len(report.genuine),
        "acknowledged": len(report.acknowledged_keys),
        "unacknowledged": report.unacknowledged,
        "forged_accepted": report.forged_accepted,
        "attempts": sum(len(r.answers) for r in report.records),
        "answers": dict(report.status_counts()),
        "outcomes": dict(report.outcome_counts()),
        "seconds": round(report.finished_at - report.started_at, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Send retried, signed Stripe deliveries.")
    parser.add_argument("base_url", help="e.g. http://127.0.0.1:8000")
    parser.add_argument("count", type=int)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--forged-share", type=float, default=0.0)
    args = parser.parse_args(argv)
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET", signing.STRIPE_SECRET).split(",")[0].strip()
    deliveries = stripe_deliveries(args.count, forged_share=args.forged_share, secret=secret)
    sim = ProviderSimulator(args.base_url, deliveries, concurrency=args.concurrency)
    report = asyncio.run(sim.run())
    print(json.dumps(summary(report), indent=2))
    return 0 if report.unacknowledged == 0 and report.forged_accepted == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
