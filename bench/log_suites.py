"""Sections 2 (Projections) and 3 (Growth): everything measured on a large generated log.

One run builds the large log once (200k events quick, 1M with ``--full``) and measures on it:
``hookledger rebuild all``, the eventsourcing library's ``ProjectionRunner`` on its first 20k
events, and ingest with that log in place (against ingest on an empty log, back to back). A
second, smaller log (50k quick, 200k full) gives the rebuild's second size point; the live-lag
pass runs on a fresh database. Failures of one step are reported and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bench import database, es_projection, ingest, live_lag, loggen, procs, rebuild_run
from bench.context import BenchContext
from bench.cpu import SERVER
from bench.live_lag import LagFigures
from bench.log_report import build_sections
from bench.loggen import LogFacts
from bench.procs import BIN, ChildFailed
from bench.rebuild_run import RebuildRun
from bench.report import Section
from bench.stats import Pass

LIBRARY_EVENTS = 20_000
QUICK_SIZES = (200_000, 50_000)
FULL_SIZES = (1_000_000, 200_000)
"""(large log, small log) in events."""


@dataclass(slots=True)
class LogFigures:
    size: int
    small_size: int
    log: LogFacts | None = None
    small_log: LogFacts | None = None
    rebuild: RebuildRun | None = None
    rebuild_small: RebuildRun | None = None
    library: Pass | None = None
    lag: LagFigures | None = None
    ingest_empty: list[Pass] = field(default_factory=list)
    ingest_full: list[Pass] = field(default_factory=list)
    """Passes in the order empty, large, large, empty (drift on a shared machine cancels out)."""
    settled: bool | None = None
    """Whether the large log's database was vacuumed and checkpointed before the growth passes."""
    failures: dict[str, list[str]] = field(default_factory=dict)


def _step(figures: LogFigures, section: str, name: str, work: Callable[[], None]) -> None:
    print(f"[{section.lower()}] {name} …", flush=True)
    try:
        work()
    except (ChildFailed, OSError, RuntimeError) as exc:
        figures.failures.setdefault(section, []).append(f"{name}: {exc}")
        print(f"[{section.lower()}] {name} FAILED: {exc}", flush=True)


def _library(ctx: BenchContext, url: str, runs: int = 2) -> Pass:
    """The fastest of ``runs`` library runs (as for our rebuild), each from empty tables."""
    sql = f"SELECT notification_id FROM hookledger_events ORDER BY 1 OFFSET {LIBRARY_EVENTS - 1}"
    last = int(str(database.query(url, sql + " LIMIT 1")))
    args = [f"--database-url={url}", f"--events={LIBRARY_EVENTS}", f"--last-position={last}"]
    done = []
    for i in range(runs):
        database.query(url, es_projection.DROP_TABLES)
        done.append(ingest.drive(ctx, es_projection.__name__, f"es-projection-{i + 1}", args))
    return max(done, key=lambda p: p.result.rate)


def _growth_ingest(ctx: BenchContext, figures: LogFigures, url: str, name: str) -> None:
    """Our server on an empty database and on the large log, both up, loaded alternately."""
    hookledger = str(BIN / "hookledger")
    with database.scratch_database(ctx.admin_url) as (empty_url, empty_name):
        ports = procs.free_port(), procs.free_port()
        envs = [
            {**ingest.server_env(port), "DATABASE_URL": db}
            for port, db in zip(ports, (empty_url, url), strict=True)
        ]
        logs = ctx.scratch / "growth-empty-serve.log", ctx.scratch / "growth-full-serve.log"
        with (
            procs.server([hookledger, "serve"], envs[0], ports[0], logs[0], "/ready") as empty,
            procs.server([hookledger, "serve"], envs[1], ports[1], logs[1], "/ready") as full,
        ):
            runs = [(empty, ports[0], empty_name), (full, ports[1], name)]
            for i, (server, port, db_name) in enumerate([*runs, *reversed(runs)]):
                if ctx.postmaster_pid is not None:
                    ctx.sampler.watch_postgres(ctx.postmaster_pid, db_name)
                ctx.sampler.watch(SERVER, server.pid)
                measured = ingest.load(ctx, port, f"growth-{i}")
                (figures.ingest_empty if server is empty else figures.ingest_full).append(measured)


def run(ctx: BenchContext) -> list[Section]:
    size, small = FULL_SIZES if ctx.full else QUICK_SIZES
    figures = LogFigures(size, small)
    with database.scratch_database(ctx.admin_url) as (url, name):
        if ctx.postmaster_pid is not None:
            ctx.sampler.watch_postgres(ctx.postmaster_pid, name)

        def fill() -> None:
            figures.log = loggen.fill(url, size)

        def rebuild() -> None:
            figures.rebuild = rebuild_run.best_of(ctx, url, size, f"rebuild-{size}")

        def library() -> None:
            figures.library = _library(ctx, url)

        def growth() -> None:
            figures.settled = database.settle(url)
            _growth_ingest(ctx, figures, url, name)

        _step(figures, "Projections", f"generate a {size:,}-event log", fill)
        if figures.log is not None:
            _step(figures, "Projections", f"hookledger rebuild all ({size:,} events)", rebuild)
            _step(figures, "Projections", f"library runner ({LIBRARY_EVENTS:,} events)", library)
            _step(figures, "Growth", "ingest: empty log and the large log, alternately", growth)
    with database.scratch_database(ctx.admin_url) as (url, name):
        if ctx.postmaster_pid is not None:
            ctx.sampler.watch_postgres(ctx.postmaster_pid, name)

        def small_rebuild() -> None:
            figures.small_log = loggen.fill(url, small)
            figures.rebuild_small = rebuild_run.best_of(ctx, url, small, f"rebuild-{small}")

        _step(figures, "Growth", f"rebuild at {small:,} events", small_rebuild)

    def lag() -> None:
        figures.lag = live_lag.run(ctx)

    _step(figures, "Projections", f"live lag at {live_lag.RATE:,.0f} deliveries/s", lag)
    return build_sections(ctx, figures)
