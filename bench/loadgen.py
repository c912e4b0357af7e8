"""The load generator: its own process, sending signed Stripe deliveries to one server.

``python -m bench.loadgen --port P --out result.json [--rate R]``

Closed loop (default): ``--concurrency`` keep-alive connections each send the next delivery as
soon as the previous answer arrives. Open loop (``--rate``): deliveries are due on a fixed
schedule and latency is measured from the *scheduled* time, so a stalled server cannot hide its
queueing (no coordinated omission); the connections only carry the load.

A warm-up precedes the measured window and is not counted in it; the whole-run totals (warm-up and
drain included) are reported separately so the caller can check them against the database.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import resource
import time
from collections import Counter
from pathlib import Path

from bench import loop
from bench.http_client import ConnectionClosed, HttpConnection
from bench.payload import StripeDeliveries
from bench.stats import DriverResult, summarize, write_result

_HOST = "127.0.0.1"
_ACCEPTED = b'"status":"accepted"'


class Recorder:
    def __init__(self, window_start: float, window_end: float) -> None:
        self.window_start = window_start
        self.window_end = window_end
        self.latencies: list[float] = []
        self.send_lags: list[float] = []
        self.ok = 0
        self.errors = 0
        self.totals: Counter[str] = Counter()

    def record(self, origin: float, done: float, status: int, body: bytes, counted: bool) -> None:
        if status != 200:
            kind = f"http_{status}"
        else:
            kind = "accepted" if _ACCEPTED in body else "other_200"
        self.totals[kind] += 1
        if counted:
            self.latencies.append(done - origin)
            if kind == "accepted":
                self.ok += 1
            else:
                self.errors += 1

    def failure(self, counted: bool) -> None:
        self.totals["connection_failed"] += 1
        if counted:
            self.errors += 1


async def _send(conn: HttpConnection, request: bytes) -> tuple[HttpConnection, int, bytes]:
    """One exchange; on a dropped connection, reconnects once so the worker can go on."""
    try:
        status, body = await conn.request(request)
    except ConnectionClosed:
        conn.close()
        await asyncio.sleep(0.05)  # no reconnect storm against a server that is going away
        try:
            return await HttpConnection.open(*conn.address), -1, b""
        except OSError:
            return conn, -1, b""  # still closed: the next request fails fast and retries
    return conn, status, body


async def _closed_worker(conn: HttpConnection, gen: StripeDeliveries, rec: Recorder) -> None:
    while time.monotonic() < rec.window_end:
        request = gen.next_request()
        sent = time.monotonic()
        conn, status, body = await _send(conn, request)
        done = time.monotonic()
        counted = rec.window_start <= done <= rec.window_end
        if status < 0:
            rec.failure(counted)
        else:
            rec.record(sent, done, status, body, counted)
    conn.close()


async def _open_worker(
    conn: HttpConnection,
    gen: StripeDeliveries,
    rec: Recorder,
    slots: itertools.count[int],
    first_slot: float,
    rate: float,
) -> None:
    while True:
        due = first_slot + next(slots) / rate
        if due >= rec.window_end:
            break
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        request = gen.next_request()
        sent = time.monotonic()
        counted = due >= rec.window_start
        if counted:
            rec.send_lags.append(max(0.0, sent - due))
        conn, status, body = await _send(conn, request)
        done = time.monotonic()
        if status < 0:
            rec.failure(counted)
        else:
            rec.record(due, done, status, body, counted)
    conn.close()


async def _cpu_over_window(rec: Recorder) -> float:
    await asyncio.sleep(max(0.0, rec.window_start - time.monotonic()))
    before = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.sleep(max(0.0, rec.window_end - time.monotonic()))
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _signing_cost_us(id_prefix: str) -> float:
    probe = StripeDeliveries(host=_HOST, id_prefix=id_prefix)
    started = time.perf_counter()
    for _ in range(2000):
        probe.next_request()
    return (time.perf_counter() - started) / 2000 * 1e6


async def generate(args: argparse.Namespace) -> DriverResult:
    host = f"{_HOST}:{args.port}"
    gen = StripeDeliveries(host=host, id_prefix=args.id_prefix, subjects=args.subjects)
    body_bytes = gen.self_check()
    conns = [await HttpConnection.open(_HOST, args.port) for _ in range(args.concurrency)]
    start = time.monotonic()
    rec = Recorder(start + args.warmup, start + args.warmup + args.duration)
    cpu = asyncio.create_task(_cpu_over_window(rec))
    if args.rate > 0:
        slots = itertools.count()
        workers = [_open_worker(c, gen, rec, slots, start, args.rate) for c in conns]
    else:
        workers = [_closed_worker(c, gen, rec) for c in conns]
    tasks = [asyncio.create_task(w) for w in workers]
    own_cpu = await cpu
    _, unfinished = await asyncio.wait(tasks, timeout=args.drain_timeout)
    for task in unfinished:
        task.cancel()
        rec.totals["unfinished"] += 1
    return DriverResult(
        label=args.label,
        ok=rec.ok,
        errors=rec.errors,
        window_start=rec.window_start,
        window_end=rec.window_end,
        latency=summarize(rec.latencies),
        own_cpu_seconds=own_cpu,
        totals=dict(rec.totals),
        notes={
            "concurrency": float(args.concurrency),
            "target_rate": float(args.rate),
            "body_bytes": float(body_bytes),
            "request_build_us": _signing_cost_us("probe"),
            "send_lag_p99_ms": summarize(rec.send_lags).p99_ms,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--label", default="ingest")
    parser.add_argument("--id-prefix", default="bench")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rate", type=float, default=0.0, help="open loop at this rate (1/s)")
    parser.add_argument(
        "--subjects", type=int, default=0, help="cycle through this many subscriptions"
    )
    parser.add_argument("--drain-timeout", type=float, default=30.0)
    args = parser.parse_args()
    write_result(args.out, loop.run(generate(args)))


if __name__ == "__main__":
    main()
