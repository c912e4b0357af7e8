"""Live lag probe: when each event becomes visible in the log, and in every read model.

``python -m bench.lag_probe --database-url URL --out result.json [--duration S --warmup S]``

Its own process polls PostgreSQL every few milliseconds with one statement (one snapshot): the
log's head position and the checkpoints of the live generation of every projection. An event is
committed in the log once the head reaches its position (writers make positions visible in commit
order), and committed in a read model once that projection's checkpoint reaches it (rows and
checkpoint commit in one transaction). So for each event, ``lag = first poll that sees every
checkpoint at or past it - first poll that sees it in the log``: the time from its commit to the
commit of the last read model to account for it (an upper bound for "every read model it
changes"), measured to within one poll interval, without touching the product. Events first seen
in the log during the measured window are counted; after the window the probe keeps polling until
the projections have caught up (or ``--drain-timeout``).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import resource
import time
from pathlib import Path

import asyncpg

from bench import loop
from bench.stats import DriverResult, summarize, write_result

_POLL = (
    "SELECT (SELECT coalesce(max(notification_id), 0) FROM hookledger_events),"
    " array_agg(c.position ORDER BY c.projection)"
    " FROM hookledger_projections p JOIN hookledger_checkpoints c"
    " ON c.projection = p.name AND c.schema_name = 'hl_' || p.name || '_g' || p.active_generation"
)


def _first_at(times: list[float], values: list[int], position: int) -> float | None:
    """The first sample time at which a non-decreasing series reached ``position``."""
    i = bisect.bisect_left(values, position)
    return times[i] if i < len(values) else None


async def probe(args: argparse.Namespace) -> DriverResult:
    conn = await asyncpg.connect(args.database_url)
    try:
        start = time.monotonic()
        window_start, window_end = start + args.warmup, start + args.warmup + args.duration
        times: list[float] = []
        heads: list[int] = []
        checkpoints: list[list[int]] = []
        before = after = resource.getrusage(resource.RUSAGE_SELF)
        drain_until = window_end + args.drain_timeout
        while True:
            now = time.monotonic()
            row = await conn.fetchrow(_POLL)
            assert row is not None
            times.append(now)
            heads.append(int(row[0]))
            checkpoints.append(list(row[1]))
            if now < window_start:
                before = resource.getrusage(resource.RUSAGE_SELF)
            elif now <= window_end:
                after = resource.getrusage(resource.RUSAGE_SELF)
            else:
                last_in_window = heads[bisect.bisect_right(times, window_end) - 1]
                if min(checkpoints[-1]) >= last_in_window or now > drain_until:
                    break
            await asyncio.sleep(args.interval)
    finally:
        await conn.close()

    first = heads[bisect.bisect_left(times, window_start) - 1] + 1 if times[0] < window_start else 1
    last = heads[bisect.bisect_right(times, window_end) - 1]
    series = [[cp[i] for cp in checkpoints] for i in range(len(checkpoints[0]))]
    for values in series:  # checkpoints only move forward; keep bisect's precondition exact
        for i in range(1, len(values)):
            values[i] = max(values[i], values[i - 1])
    lags: list[float] = []
    per_model: list[list[float]] = [[] for _ in series]
    unfinished = 0
    for position in range(first, last + 1):
        logged = _first_at(times, heads, position)
        seen = [_first_at(times, values, position) for values in series]
        if logged is None or any(t is None for t in seen):
            unfinished += 1
            continue
        stamps = [t for t in seen if t is not None]
        lags.append(max(stamps) - logged)
        for i, t in enumerate(stamps):
            per_model[i].append(t - logged)
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    notes = {f"p99_ms_model_{i}": summarize(model).p99_ms for i, model in enumerate(per_model)} | {
        "poll_interval_p50_ms": gaps[len(gaps) // 2] * 1000 if gaps else 0.0,
        "poll_interval_p99_ms": summarize(gaps).p99_ms,
    }
    return DriverResult(
        label="live lag",
        ok=len(lags),
        errors=unfinished,
        window_start=window_start,
        window_end=window_end,
        latency=summarize(lags),
        own_cpu_seconds=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        totals={"first_position": first, "last_position": last, "polls": len(times)},
        notes=notes,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lag_probe", description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--interval", type=float, default=0.005, help="seconds between polls")
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    args = parser.parse_args()
    write_result(args.out, loop.run(probe(args)))


if __name__ == "__main__":
    main()
