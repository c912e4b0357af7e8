"""The live-lag pass: steady deliveries through the real server while the real worker projects.

On a fresh database, ``hookledger serve`` (2 web workers) and ``hookledger worker`` (all three
projections) run as ``make run`` runs them; the load generator sends signed Stripe subscription
updates at a fixed rate (open loop) over many subscriptions, and ``bench.lag_probe`` measures, per
event, the time from its commit in the log to the commit of the read models.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench import database, ingest, procs
from bench.context import BenchContext
from bench.cpu import SERVER
from bench.procs import BIN, ChildFailed
from bench.stats import Pass

RATE = 1000.0
SUBJECTS = 10_000
WORKER = "projection worker"


@dataclass(frozen=True, slots=True)
class LagFigures:
    lag: Pass
    load: Pass


def _wait_elected(url: str, timeout: float = 30.0) -> None:
    sql = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 26732"
    deadline = time.monotonic() + timeout
    while int(str(database.query(url, sql))) < 3:  # one runner per projection
        if time.monotonic() > deadline:
            raise ChildFailed("hookledger worker did not take its projections' locks")
        time.sleep(0.2)


def run(ctx: BenchContext) -> LagFigures:
    port = procs.free_port()
    with database.scratch_database(ctx.admin_url) as (url, name):
        if ctx.postmaster_pid is not None:
            ctx.sampler.watch_postgres(ctx.postmaster_pid, name)
        env = {**ingest.server_env(port), "DATABASE_URL": url}
        serve_log, worker_log = ctx.scratch / "lag-serve.log", ctx.scratch / "lag-worker.log"
        hookledger = str(BIN / "hookledger")
        with (
            procs.server([hookledger, "serve"], env, port, serve_log, "/ready") as server,
            procs.background([hookledger, "worker"], env, worker_log) as worker,
        ):
            ctx.sampler.watch(SERVER, server.pid)
            ctx.sampler.watch(WORKER, worker.pid)
            _wait_elected(url)
            out, log = ctx.scratch / "lag-probe.json", ctx.scratch / "lag-probe.log"
            probe_args = [
                f"--database-url={url}",
                f"--duration={ctx.duration}",
                f"--warmup={ctx.warmup + 1.0}",  # the load generator connects first
            ]
            probe = procs.start_driver("bench.lag_probe", probe_args, out, log)
            load = ingest.load(ctx, port, "lag-load", rate=RATE, extra=[f"--subjects={SUBJECTS}"])
            result = procs.finish_driver(probe, out, log, timeout=ctx.duration + 120)
    try:
        cpu = ctx.sampler.usage(result.window_start, result.window_end)
    except RuntimeError:
        cpu = None
    return LagFigures(lag=Pass(result, cpu), load=load)
