"""The retry storm: the same N signed deliveries each sent R times, all N*R sends shuffled and
run concurrently. Exactly N must be stored; every answer must be 200, N of them "accepted" and
N*(R-1) "duplicate"; the service's duplicate counter must say N*(R-1).

The metric check assumes a single process serves the requests (in-process server or
``WEB_WORKERS=1``): each web worker counts its own deliveries.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.support.event_log import log_contents
from tests.support.keepalive_client import KeepAliveClient
from tests.support.provider_sim import stripe_deliveries

_DUPLICATES = re.compile(r'^hookledger_duplicate_total\{provider="stripe"\} (\d+)$', re.M)


@dataclass(frozen=True, slots=True)
class StormResult:
    n: int
    repetitions: int
    statuses: Counter[int]
    outcomes: Counter[str]
    stored_rows: int
    distinct_keys: int
    missing: int
    duplicates_metric: int | None
    seconds: float
    problems: list[str] = field(default_factory=list)

    def violations(self) -> list[str]:
        n, extra = self.n, self.n * (self.repetitions - 1)
        found = list(self.problems)
        if self.statuses != Counter({200: n * self.repetitions}):
            found.append(f"answers were not all 200: {dict(self.statuses)}")
        if self.outcomes != Counter({"accepted": n, "duplicate": extra}):
            found.append(f"expected {n} accepted + {extra} duplicate, got {dict(self.outcomes)}")
        if self.stored_rows != n or self.distinct_keys != n or self.missing:
            found.append(
                f"stored {self.stored_rows} rows / {self.distinct_keys} keys for {n} deliveries,"
                f" {self.missing} missing"
            )
        if self.duplicates_metric is not None and self.duplicates_metric != extra:
            found.append(f"/metrics duplicates {self.duplicates_metric} != {extra}")
        return found


async def retry_storm(
    base_url: str,
    database_url: str,
    *,
    n: int = 200,
    repetitions: int = 20,
    concurrency: int = 64,
    seed: int = 0,
    check_metrics: bool = True,
) -> StormResult:
    """Storm the service at ``base_url``; its database must start empty."""
    deliveries = stripe_deliveries(n, seed=seed)
    sends = [d for d in deliveries for _ in range(repetitions)]
    random.Random(seed).shuffle(sends)
    gate = asyncio.Semaphore(concurrency)
    statuses: Counter[int] = Counter()
    outcomes: Counter[str] = Counter()
    problems: list[str] = []

    async def send(http: KeepAliveClient, body: bytes, headers: dict[str, str]) -> None:
        async with gate:
            response = await http.post("/webhooks/stripe", body, headers)
        statuses[response.status] += 1
        if response.status == 200:
            outcomes[str(json.loads(response.body)["status"])] += 1
        elif len(problems) < 5:
            problems.append(f"{response.status}: {response.body[:200]!r}")

    async with KeepAliveClient(base_url, connections=concurrency, timeout=30) as http:
        started = time.monotonic()
        await asyncio.gather(*(send(http, d.body, dict(d.headers)) for d in sends))
        seconds = time.monotonic() - started
        duplicates = None
        if check_metrics:
            match = _DUPLICATES.search((await http.get("/metrics")).body.decode())
            duplicates = int(match.group(1)) if match else 0
    contents = await log_contents(database_url)
    missing = len({d.key for d in deliveries} - contents.keys)
    return StormResult(
        n,
        repetitions,
        statuses,
        outcomes,
        contents.rows,
        contents.distinct_keys,
        missing,
        duplicates,
        seconds,
        problems,
    )
