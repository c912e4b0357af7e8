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


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _ingest_table(figures: LogFigures) -> Table:
    rows = []
    empty_rate = _mean([p.result.rate for p in figures.ingest_empty])
    for measured in _in_order(figures):
        name = "empty" if measured in figures.ingest_empty else f"{figures.size:,} events"
        r = measured.result
        rows.append(
            [
                name,
                f"{r.rate:,.0f}",
                f"{r.latency.p50_ms:.1f}",
                f"{r.latency.p99_ms:.1f}",
                f"{r.latency.max_ms:.1f}",
                str(r.errors),
                f"{r.rate / empty_rate:.2f}" if empty_rate > 0 else "—",
            ]
        )
    headers = ["log in place", "accepted/s", "p50 ms", "p99 ms", "max ms", "errors", "÷ empty mean"]
    return Table(headers, rows)


def _in_order(figures: LogFigures) -> list[Pass]:
    return [*figures.ingest_empty[:1], *figures.ingest_full, *figures.ingest_empty[1:]]


def _rebuild_table(figures: LogFigures) -> Table:
    rows = []
    for run in (figures.rebuild_small, figures.rebuild):
        if run is not None:
            per_event = 1e6 / run.replay_rate if run.replay_rate > 0 else 0.0
            rows.append(
                [
                    f"{run.events:,}",
                    f"{run.wall_seconds:.1f}",
                    f"{run.rate:,.0f}",
                    f"{run.replay_rate:,.0f}",
                    f"{per_event:.0f}",
                    f"{run.peak_rss_mb:.0f}",
                ]
            )
    headers = [
        "log events",
        "wall s",
        "events/s (wall)",
        "events/s (replay)",
        "µs per event (replay)",
        "peak RSS MB",
    ]
    return Table(headers, rows)


def _ratios(figures: LogFigures) -> tuple[float | None, float | None, float | None, float | None]:
    """(throughput large-log ÷ empty, p99 large-log ÷ empty: means of the passes; rebuild rate
    large ÷ small log, peak RSS large ÷ small log)"""
    empty, full = figures.ingest_empty, figures.ingest_full
    small, large = figures.rebuild_small, figures.rebuild
    thr = p99 = rate = rss = None
    empty_rate, empty_p99 = (
        _mean([p.result.rate for p in empty]),
        _mean([p.result.latency.p99_ms for p in empty]),
    )
    if full and empty_rate > 0 and empty_p99 > 0:
        thr = _mean([p.result.rate for p in full]) / empty_rate
        p99 = _mean([p.result.latency.p99_ms for p in full]) / empty_p99
    if small and large:
        rate = large.replay_rate / small.replay_rate if small.replay_rate > 0 else None
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
        _target(
            "rebuild replay rate, large ÷ small log", ">= 0.80 (linear)", rate, lambda v: v >= 0.8
        ),
        _target("rebuild peak RSS, large ÷ small log", "<= 1.20 (flat)", rss, lambda v: v <= 1.2),
    ]


def growth_section(ctx: BenchContext, figures: LogFigures) -> Section:
    passes: list[tuple[str, Pass]] = [
        (f"ingest, {'empty' if p in figures.ingest_empty else 'large'} log, pass {i + 1}", p)
        for i, p in enumerate(_in_order(figures))
    ]
    section = Section("Growth")
    section.blocks += [
        f"Ingest as in the Ingest section (our server, closed loop, concurrency "
        f"{ctx.concurrency}, {ctx.duration:g} s) against two servers running side by side, one on "
        f"an empty database, one on the database holding the generated {figures.size:,}-event "
        "log (and its rebuilt read models), loaded alternately (empty, large, large, empty) so "
        "that drift in the machine's background load cancels out; the ratios compare the means. "
        "Before these passes the large log's database was "
        + (
            "vacuumed (ANALYZE) and the server checkpointed"
            if figures.settled
            else "vacuumed (ANALYZE; CHECKPOINT was not permitted)"
        )
        + ", as a log that has been in place for a while would be, not one just bulk-loaded. "
        "Does a large log slow the intake down?",
        _ingest_table(figures),
        "CPU during the four ingest passes, in cores:",
        cpu_report.table(passes),
        *cpu_report.warnings(passes),
        "The rebuild at two log sizes (same generator, same command): constant µs per event in "
        "the replay (start-up and swap, a fixed cost, left out) means linear time; the same "
        "peak RSS means memory does not grow with the log.",
        _rebuild_table(figures),
    ]
    section.targets += _targets(figures)
    section.failures += figures.failures.get("Growth", [])
    return section
