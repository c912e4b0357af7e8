"""Report section 3 (Growth): ingest with an empty log against the large log, and the rebuild at
two log sizes (is it linear, is memory flat?)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bench import cpu_report
from bench.report import Section, Table, Target
from bench.stats import Pass

if TYPE_CHECKING:
    from bench.context import BenchContext
    from bench.log_suites import LogFigures


def _ingest_table(figures: LogFigures) -> Table:
    rows = []
    empty = figures.ingest_empty
    for name, measured in (
        ("empty", figures.ingest_empty),
        (f"{figures.size:,} events", figures.ingest_full),
    ):
        if measured is None:
            continue
        r = measured.result
        ratio = r.rate / empty.result.rate if empty and empty.result.rate > 0 else None
        rows.append(
            [
                name,
                f"{r.rate:,.0f}",
                f"{r.latency.p50_ms:.1f}",
                f"{r.latency.p99_ms:.1f}",
                f"{r.latency.max_ms:.1f}",
                str(r.errors),
                f"{ratio:.2f}" if ratio is not None else "—",
            ]
        )
    headers = ["log in place", "accepted/s", "p50 ms", "p99 ms", "max ms", "errors", "÷ empty"]
    return Table(headers, rows)


def _rebuild_table(figures: LogFigures) -> Table:
    rows = []
    for run in (figures.rebuild_small, figures.rebuild):
        if run is not None:
            per_k = run.wall_seconds / run.events * 1000
            rows.append(
                [
                    f"{run.events:,}",
                    f"{run.wall_seconds:.1f}",
                    f"{per_k * 1000:.0f}",
                    f"{run.rate:,.0f}",
                    f"{run.peak_rss_mb:.0f}",
                ]
            )
    return Table(["log events", "wall s", "µs per event", "events/s", "peak RSS MB"], rows)


def _ratios(figures: LogFigures) -> tuple[float | None, float | None, float | None, float | None]:
    """(throughput full ÷ empty, p99 full ÷ empty, rebuild rate large ÷ small, RSS large ÷ small)"""
    empty, full = figures.ingest_empty, figures.ingest_full
    small, large = figures.rebuild_small, figures.rebuild
    thr = p99 = rate = rss = None
    if empty and full and empty.result.rate > 0 and empty.result.latency.p99_ms > 0:
        thr = full.result.rate / empty.result.rate
        p99 = full.result.latency.p99_ms / empty.result.latency.p99_ms
    if small and large:
        rate = large.rate / small.rate
        rss = large.peak_rss_mb / small.peak_rss_mb
    return thr, p99, rate, rss


def _target(name: str, goal: str, value: float | None, ok: Callable[[float], bool]) -> Target:
    shown = f"{value:.2f}" if value is not None else "—"
    return Target(name, goal, shown, None if value is None else ok(value))


def _targets(figures: LogFigures) -> list[Target]:
    thr, p99, rate, rss = _ratios(figures)
    big = f"{figures.size:,}"
    return [
        _target(f"ingest throughput, {big} log ÷ empty", ">= 0.80", thr, lambda v: v >= 0.8),
        _target(f"ingest p99, {big} log ÷ empty", "<= 1.20", p99, lambda v: v <= 1.2),
        _target("rebuild rate, large ÷ small log", ">= 0.80 (linear)", rate, lambda v: v >= 0.8),
        _target("rebuild peak RSS, large ÷ small log", "<= 1.20 (flat)", rss, lambda v: v <= 1.2),
    ]


def growth_section(ctx: BenchContext, figures: LogFigures) -> Section:
    passes: list[tuple[str, Pass]] = [
        (name, p)
        for name, p in (
            ("ingest, empty log", figures.ingest_empty),
            (f"ingest, {figures.size:,}-event log", figures.ingest_full),
        )
        if p is not None
    ]
    section = Section("Growth")
    section.blocks += [
        f"Ingest as in the Ingest section (our server, closed loop, concurrency "
        f"{ctx.concurrency}, {ctx.duration:g} s), first on an empty database, then right after "
        f"on the database holding the generated {figures.size:,}-event log (and its rebuilt read "
        "models): does a large log slow the intake down?",
        _ingest_table(figures),
        "CPU during the two ingest passes, in cores:",
        cpu_report.table(passes),
        *cpu_report.warnings(passes),
        "The rebuild at two log sizes (same generator, same command): constant µs per event "
        "means linear time; the same peak RSS means memory does not grow with the log.",
        _rebuild_table(figures),
    ]
    section.targets += _targets(figures)
    section.failures += figures.failures.get("Growth", [])
    return section
