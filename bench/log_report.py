"""Report sections 2 (Projections) and 3 (Growth) from what ``bench.log_suites`` measured.

Targets (from the issue): rebuild >= 25,000 events/s for all three read models together (stated
over 1M events: the ``--full`` run), >= 20x the library's runner, peak RSS < 300 MB and not
growing with the log; live lag p99 <= 250 ms at 1,000 deliveries/s; ingest throughput and p99
with the large log within 20 % of the empty-log figures.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from bench import cpu_report
from bench.cpu import DRIVER, PG_BENCH, SERVER
from bench.growth_report import growth_section
from bench.live_lag import RATE, SUBJECTS, WORKER
from bench.log_limits import projection_limits
from bench.report import Section, Table, Target
from bench.stats import Pass

if TYPE_CHECKING:
    from bench.context import BenchContext
    from bench.log_suites import LogFigures

GROUPS = (SERVER, WORKER, PG_BENCH, DRIVER)
MODELS = ("product_access", "subscriptions", "user_profiles")  # the probe's (sorted) order


def _target(name: str, goal: str, value: float | None, text: str, met: bool) -> Target:
    return Target(
        name, goal, text if value is not None else "—", met if value is not None else None
    )


def _rebuild_table(figures: LogFigures) -> Table:
    rows = []
    for run in (figures.rebuild_small, figures.rebuild):
        if run is None:
            continue
        cpu = run.measured.cpu
        rows.append(
            [
                f"{run.events:,}",
                f"{run.wall_seconds:.1f}",
                f"{run.rate:,.0f}",
                f"{run.replay_rate:,.0f}",
                f"{run.peak_rss_mb:.0f} MB",
                f"{cpu.groups.get(SERVER, 0.0):.2f}" if cpu else "—",
                f"{cpu.groups.get(PG_BENCH, 0.0):.2f}" if cpu else "—",
                f"{cpu.unattributed:.2f}" if cpu else "—",
            ]
        )
    headers = [
        "log events",
        "wall s",
        "events/s (wall)",
        "events/s (replay)",
        "peak RSS",
        "rebuild process cores",
        "postgres cores",
        "unattributed cores",
    ]
    return Table(headers, rows)


def _library_ratio(figures: LogFigures) -> float | None:
    if figures.rebuild is None or figures.library is None or figures.library.result.rate <= 0:
        return None
    return figures.rebuild.rate / figures.library.result.rate


def _library_table(figures: LogFigures) -> Table:
    rows = []
    if figures.rebuild is not None:
        r = figures.rebuild
        rows.append(
            ["ours: hookledger rebuild all (3 read models)", f"{r.events:,}", f"{r.rate:,.0f}", ""]
        )
    if figures.library is not None:
        lib, ratio = figures.library.result, _library_ratio(figures)
        rows.append(
            [
                "eventsourcing ProjectionRunner (subscriptions only)",
                f"{lib.ok:,}",
                f"{lib.rate:,.0f}",
                f"{ratio:.1f}x" if ratio is not None else "—",
            ]
        )
    return Table(["path", "events", "events/s", "ours ÷ this"], rows)


def _lag_table(figures: LogFigures) -> Table:
    if figures.lag is None:
        return Table(["live lag"], [["not measured"]])
    lag, load = figures.lag.lag.result, figures.lag.load.result
    per_model = ", ".join(
        f"{m} {lag.notes.get(f'p99_ms_model_{i}', 0.0):.0f}" for i, m in enumerate(MODELS)
    )
    row = [
        f"{RATE:,.0f}",
        f"{load.rate:,.0f}",
        f"{load.latency.p99_ms:.1f}",
        f"{lag.latency.count:,}",
        f"{lag.latency.p50_ms:.1f}",
        f"{lag.latency.p99_ms:.1f}",
        f"{lag.latency.max_ms:.1f}",
        per_model,
        f"{lag.notes.get('poll_interval_p50_ms', 0.0):.1f} / "
        f"{lag.notes.get('poll_interval_p99_ms', 0.0):.1f}",
    ]
    headers = [
        "scheduled /s",
        "accepted /s",
        "ingest p99 ms",
        "events measured",
        "lag p50 ms",
        "lag p99 ms",
        "lag max ms",
        "p99 per read model ms",
        "poll interval p50 / p99 ms",
    ]
    return Table(headers, [row])


def _passes(figures: LogFigures) -> list[tuple[str, Pass]]:
    named = [
        (f"rebuild {figures.size:,}", figures.rebuild.measured if figures.rebuild else None),
        ("library runner", figures.library),
        ("live lag", figures.lag.lag if figures.lag else None),
    ]
    return [(name, p) for name, p in named if p is not None]


def projections_section(ctx: BenchContext, figures: LogFigures) -> Section:
    section = Section("Projections")
    if figures.log is not None:
        section.blocks.append(f"Log: {figures.log.describe()}.")
    section.blocks += [
        "`hookledger rebuild all` run as the CLI (its own process) on that log: all three read "
        "models rebuilt into fresh generations and swapped in, twice per log; the faster run is "
        "shown (other processes on a shared machine only slow a run down), with the higher peak "
        "RSS of the two. *Wall* counts the whole command "
        "(start-up and swap included); *replay* is the CLI's own progress figure. Peak RSS is the "
        "kernel's high-water mark of that process (`VmHWM`, read every 50 ms until it exits).",
        _rebuild_table(figures),
        f"The eventsourcing library's own `ProjectionRunner` (its `Application` reading our log "
        f"table, a minimal `Projection` folding the same subscription semantics with our mapping "
        f"and fold functions, its PostgreSQL tracking recorder, one transaction per event) on the "
        f"first {figures.library.result.ok if figures.library else 20_000:,} events of the same "
        f"log; the faster of two runs from empty tables is shown. The ratio compares it with our "
        "full rebuild, which builds three read models.",
        _library_table(figures),
        f"Live lag: `hookledger serve` (2 web workers) and `hookledger worker` on a fresh "
        f"database; the load generator sends {RATE:,.0f} signed Stripe subscription updates/s "
        f"(open loop, over {SUBJECTS:,} subscriptions) for {ctx.duration:g} s; `bench.lag_probe` "
        "polls, in one snapshot, the log's head and every live checkpoint. Lag = the first poll "
        "seeing all three read models' checkpoints at or past the event, minus the first poll "
        "seeing the event in the log (commit to commit, within one poll interval; the later of the "
        "three read models, an upper bound for those the event changes).",
        _lag_table(figures),
        "CPU during each pass, in cores:",
        cpu_report.table(_passes(figures), GROUPS),
        *cpu_report.warnings(_passes(figures)),
        "What limits the numbers:",
        *projection_limits(figures, os.cpu_count() or 1),
    ]
    ratio = _library_ratio(figures)
    rebuild, lag = figures.rebuild, figures.lag.lag.result if figures.lag else None
    over = f" over {rebuild.events:,}" if rebuild else ""
    section.targets += [
        _target(
            f"rebuild rate{over} events",
            ">= 25,000 ev/s (over 1M)",
            rebuild.rate if rebuild else None,
            f"{rebuild.rate:,.0f} ev/s" if rebuild else "",
            bool(rebuild and rebuild.rate >= 25_000),
        ),
        _target(
            "rebuild vs library runner",
            ">= 20x",
            ratio,
            f"{ratio:.1f}x" if ratio else "",
            bool(ratio and ratio >= 20),
        ),
        _target(
            "rebuild peak RSS",
            "< 300 MB",
            rebuild.peak_rss_mb if rebuild else None,
            f"{rebuild.peak_rss_mb:.0f} MB" if rebuild else "",
            bool(rebuild and rebuild.peak_rss_mb < 300),
        ),
        _target(
            f"live lag p99 at {RATE:,.0f}/s",
            "<= 250 ms",
            lag.latency.p99_ms if lag else None,
            f"{lag.latency.p99_ms:.1f} ms" if lag else "",
            bool(lag and lag.errors == 0 and lag.latency.p99_ms <= 250),
        ),
    ]
    section.failures += figures.failures.get("Projections", [])
    return section


def build_sections(ctx: BenchContext, figures: LogFigures) -> list[Section]:
    return [projections_section(ctx, figures), growth_section(ctx, figures)]
