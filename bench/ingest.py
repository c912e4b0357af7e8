"""The ingest suite: our server at full load and at half load, against three ceilings.

Each pass runs its driver in its own process for the same window at the same concurrency, while
the CPU sampler records who used the machine. Order: (a) our HTTP stack without a database,
ours (closed loop, then open loop at half the measured maximum, on the same server), (b) the
eventsourcing library's write path, (c) bare asyncpg single-row INSERTs. The figures go to
``bench.ingest_report`` to become a report section.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench import database, procs
from bench.context import BenchContext
from bench.cpu import DRIVER, SERVER, CpuUsage
from bench.ingest_report import build_section
from bench.payload import SECRET
from bench.procs import BIN, ChildFailed
from bench.report import Section
from bench.stats import Pass


@dataclass(slots=True)
class IngestFigures:
    ours: Pass | None = None
    half: Pass | None = None
    nodb: Pass | None = None
    library: Pass | None = None
    asyncpg: Pass | None = None
    row_checks: list[tuple[str, int, int]] = field(default_factory=list)
    """``(what, expected, found)`` for every stored-rows-versus-acknowledged check."""
    failures: list[str] = field(default_factory=list)


def drive(ctx: BenchContext, module: str, label: str, args: list[str]) -> Pass:
    """Runs a driver module in its own process and pairs its result with the sampled CPU."""
    out = ctx.scratch / f"{label}.json"
    log = ctx.scratch / f"{label}.log"
    proc = procs.start_driver(module, args, out, log)
    ctx.sampler.watch(DRIVER, proc.pid)
    result = procs.finish_driver(proc, out, log, timeout=ctx.warmup + ctx.duration + 120)
    try:
        cpu: CpuUsage | None = ctx.sampler.usage(result.window_start, result.window_end)
    except RuntimeError:
        cpu = None
    return Pass(result, cpu)


def load(
    ctx: BenchContext, port: int, label: str, rate: float = 0.0, extra: Sequence[str] = ()
) -> Pass:
    """One load-generator pass against the server on ``port`` (closed loop, or open at ``rate``)."""
    args = [
        f"--port={port}",
        f"--label={label}",
        f"--id-prefix={uuid.uuid4().hex[:8]}",
        f"--concurrency={ctx.concurrency}",
        f"--duration={ctx.duration}",
        f"--warmup={ctx.warmup}",
        f"--rate={rate}",
        *extra,
    ]
    return drive(ctx, "bench.loadgen", label, args)


def server_env(port: int) -> dict[str, str]:
    """The environment of a server under test (2 web workers, the bench's Stripe secret)."""
    return {
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "WEB_WORKERS": "2",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }


def _nodb(ctx: BenchContext, figures: IngestFigures) -> None:
    port = procs.free_port()
    command = [sys.executable, "-m", "bench.nodb_app"]
    log = ctx.scratch / "nodb-server.log"
    with procs.server(command, server_env(port), port, log, "/ready") as proc:
        ctx.sampler.watch(SERVER, proc.pid)
        figures.nodb = load(ctx, port, "nodb")


def _count_events(url: str) -> int:
    return int(str(database.query(url, "SELECT count(*) FROM hookledger_events")))


def _ours(ctx: BenchContext, figures: IngestFigures) -> None:
    port = procs.free_port()
    with database.scratch_database(ctx.admin_url) as (url, name):
        if ctx.postmaster_pid is not None:
            ctx.sampler.watch_postgres(ctx.postmaster_pid, name)
        env = {**server_env(port), "DATABASE_URL": url}
        log = ctx.scratch / "hookledger-serve.log"
        with procs.server([str(BIN / "hookledger"), "serve"], env, port, log, "/ready") as proc:
            ctx.sampler.watch(SERVER, proc.pid)
            figures.ours = ours = load(ctx, port, "ours")
            accepted = ours.result.totals.get("accepted", 0)
            figures.row_checks.append(("full-load pass", accepted, _count_events(url)))
            half_rate = max(1.0, ours.result.rate / 2)
            figures.half = half = load(ctx, port, "ours-half", rate=half_rate)
            accepted += half.result.totals.get("accepted", 0)
            figures.row_checks.append(("after the half-load pass", accepted, _count_events(url)))


def _library(ctx: BenchContext, figures: IngestFigures) -> None:
    with database.scratch_database(ctx.admin_url) as (url, name):
        if ctx.postmaster_pid is not None:
            ctx.sampler.watch_postgres(ctx.postmaster_pid, name)
        args = [
            f"--database-url={url}",
            f"--concurrency={ctx.concurrency}",
            f"--duration={ctx.duration}",
            f"--warmup={ctx.warmup}",
        ]
        figures.library = lib = drive(ctx, "bench.es_ceiling", "eventsourcing", args)
        rows = int(str(database.query(url, "SELECT count(*) FROM benchledger_events")))
        figures.row_checks.append(("eventsourcing saves", lib.result.totals.get("saved", 0), rows))


def _asyncpg(ctx: BenchContext, figures: IngestFigures) -> None:
    with database.scratch_database(ctx.admin_url) as (url, name):
        if ctx.postmaster_pid is not None:
            ctx.sampler.watch_postgres(ctx.postmaster_pid, name)
        args = [
            f"--database-url={url}",
            f"--concurrency={ctx.concurrency}",
            f"--duration={ctx.duration}",
            f"--warmup={ctx.warmup}",
        ]
        figures.asyncpg = bare = drive(ctx, "bench.asyncpg_ceiling", "asyncpg", args)
        totals = bare.result.totals
        figures.row_checks.append(
            ("asyncpg INSERTs", totals.get("inserted", 0), totals.get("rows", 0))
        )


PASSES = (
    ("(a) no-database ceiling", _nodb),
    ("ours", _ours),
    ("(b) eventsourcing ceiling", _library),
    ("(c) asyncpg ceiling", _asyncpg),
)


def run(ctx: BenchContext) -> Section:
    figures = IngestFigures()
    for name, run_pass in PASSES:
        print(f"[ingest] {name} …", flush=True)
        try:
            run_pass(ctx, figures)
        except ChildFailed as exc:
            figures.failures.append(f"{name}: {exc}")
            print(f"[ingest] {name} FAILED: {exc}", flush=True)
    return build_section(ctx, figures)
