"""Ceiling (b): the eventsourcing library's own write path, one event per transaction.

``python -m bench.es_ceiling --database-url URL --out result.json``

``Application.save()`` of a new one-event aggregate carrying the decoded delivery, on PostgreSQL
(``PERSISTENCE_MODULE=eventsourcing.postgres``; the library creates its own table). The library is
synchronous (psycopg 3 with a connection pool), so concurrency is threads sharing one
``Application``, each with a pooled connection, as a threaded web server would use it; split
over 2 processes (like our 2 web workers) so the GIL of one process is not the limit.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import msgspec
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.payload import StripeDeliveries
from bench.stats import DriverResult, summarize, write_result

_STARTUP_SECONDS = 3.0
"""Time the driver processes get to import, connect and start their threads."""
_NAMESPACE = uuid.UUID("6a1d3c1e-2b0f-4c59-9f44-0bce40000000")


class Webhook(Aggregate):
    @event("Received")
    def __init__(self, provider: str, event_id: str, payload: dict[str, Any]) -> None:
        self.provider = provider
        self.event_id = event_id
        self.payload = payload

    @staticmethod
    def create_id(provider: str, event_id: str, payload: dict[str, Any]) -> uuid.UUID:
        return uuid.uuid5(_NAMESPACE, f"{provider}:{event_id}")


class BenchLedger(Application[uuid.UUID]):
    """Its events table is ``benchledger_events``."""


def library_env(database_url: str, pool_size: int) -> dict[str, str]:
    """The library's POSTGRES_* settings for a ``postgresql://`` URL (TCP or Unix socket)."""
    parts = urlsplit(database_url)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")),
        "POSTGRES_HOST": socket_dir or parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "0",
        "CREATE_TABLE": "y",
    }


@dataclass(slots=True)
class _Totals:
    """What one driver process measured; summed by the parent."""

    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    errors: int = 0
    saved: int = 0
    cpu_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __getstate__(self) -> tuple[list[float], int, int, int, float]:
        return self.latencies, self.ok, self.errors, self.saved, self.cpu_seconds

    def __setstate__(self, state: tuple[list[float], int, int, int, float]) -> None:
        self.latencies, self.ok, self.errors, self.saved, self.cpu_seconds = state
        self.lock = threading.Lock()


def _thread(
    app: BenchLedger, gen: StripeDeliveries, first: int, window: tuple[float, float], out: _Totals
) -> None:
    n = first
    mine = _Totals()
    reported = False
    while time.monotonic() < window[1]:
        body = gen.body(n)
        n += 1
        started = time.monotonic()
        try:
            payload = msgspec.json.decode(body)
            app.save(Webhook("stripe", payload["id"], payload))
            failed = False
            mine.saved += 1
        except Exception as exc:
            failed = True
            if not reported:
                reported = True
                print(f"es_ceiling: save failed: {exc!r}", file=sys.stderr)
        done = time.monotonic()
        if window[0] <= done <= window[1]:
            mine.latencies.append(done - started)
            mine.errors += failed
            mine.ok += not failed
    with out.lock:
        out.latencies.extend(mine.latencies)
        out.ok += mine.ok
        out.errors += mine.errors
        out.saved += mine.saved


def _process(database_url: str, threads: int, index: int, window: tuple[float, float]) -> _Totals:
    """One driver process: ``threads`` threads sharing one Application (and its pool)."""
    env = {**library_env(database_url, threads), "CREATE_TABLE": "n"}
    app = BenchLedger(env=env)
    gen = StripeDeliveries(host="-", id_prefix=f"es{index}")
    out = _Totals()
    workers = [
        threading.Thread(target=_thread, args=(app, gen, i * 10**12, window, out), daemon=True)
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    time.sleep(max(0.0, window[0] - time.monotonic()))
    before = resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(max(0.0, window[1] - time.monotonic()))
    after = resource.getrusage(resource.RUSAGE_SELF)
    for worker in workers:
        worker.join(timeout=30)
    app.close()
    out.cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out


def measure(args: argparse.Namespace) -> DriverResult:
    # The table is created once, here, before the driver processes start using it.
    BenchLedger(env=library_env(args.database_url, 1)).close()
    threads = max(1, args.concurrency // args.processes)
    start = time.monotonic() + _STARTUP_SECONDS
    window = (start + args.warmup, start + args.warmup + args.duration)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.processes, mp_context=spawn) as pool:
        futures = [
            pool.submit(_process, args.database_url, threads, i, window)
            for i in range(args.processes)
        ]
        parts = [future.result() for future in futures]
    wall = window[1] - window[0]
    return DriverResult(
        label="eventsourcing Application.save()",
        ok=sum(p.ok for p in parts),
        errors=sum(p.errors for p in parts),
        window_start=window[0],
        window_end=window[1],
        latency=summarize([lat for p in parts for lat in p.latencies]),
        own_cpu_seconds=sum(p.cpu_seconds for p in parts),
        totals={"saved": sum(p.saved for p in parts)},
        notes={
            "processes": float(args.processes),
            "threads_per_process": float(threads),
            "busiest_process_cpu_share": max(p.cpu_seconds for p in parts) / wall,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.es_ceiling", description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=64, help="threads in all processes")
    parser.add_argument("--processes", type=int, default=2, help="like the server's 2 workers")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    args = parser.parse_args()
    write_result(args.out, measure(args))


if __name__ == "__main__":
    main()
