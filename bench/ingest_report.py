"""The ingest suite's report section: figures, ratios, targets, CPU split and what limits us.

Targets (from the issue): ours >= 50 % of ceiling (a), >= 6x ceiling (b), p99 <= 50 ms at half
of our measured maximum; plus the correctness checks every run must pass (every acknowledged
delivery is a stored row, no errors).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from bench import cpu_report
from bench.report import Section, Table, Target
from bench.stats import Pass

if TYPE_CHECKING:
    from bench.context import BenchContext
    from bench.ingest import IngestFigures


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _ms(value: float) -> str:
    return f"{value:.1f}"


def _ratio(ours: Pass | None, other: Pass | None) -> float | None:
    if ours is None or other is None or other.result.rate <= 0:
        return None
    return ours.result.rate / other.result.rate


def _throughput(figures: IngestFigures) -> Table:
    rows = []
    named = [
        ("ours: hookledger serve (closed loop)", figures.ours, "deliveries accepted/s"),
        ("(a) same stack, no database", figures.nodb, "deliveries/s"),
        ("(b) eventsourcing Application.save()", figures.library, "events/s"),
        ("(c) asyncpg single-row INSERT", figures.asyncpg, "rows/s"),
    ]
    for name, measured, unit in named:
        if measured is None:
            rows.append([name, "failed", "", "", "", "", "", ""])
            continue
        r = measured.result
        ratio = _ratio(figures.ours, measured) if measured is not figures.ours else None
        rows.append(
            [
                name,
                f"{_n(r.rate)} {unit}",
                _ms(r.latency.p50_ms),
                _ms(r.latency.p99_ms),
                _ms(r.latency.max_ms),
                str(r.errors),
                f"{r.own_cpu_share:.0%}",
                f"{ratio:.2f}" if ratio is not None else "—",
            ]
        )
    headers = [
        "path",
        "throughput",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "driver CPU",
        "ours ÷ this",
    ]
    return Table(headers, rows)


def _half(figures: IngestFigures) -> Table:
    if figures.half is None:
        return Table(["open loop at half of max"], [["failed"]])
    r = figures.half.result
    row = [
        _n(r.notes.get("target_rate", 0.0)),
        _n(r.rate),
        _ms(r.latency.p50_ms),
        _ms(r.latency.p99_ms),
        _ms(r.latency.max_ms),
        str(r.errors),
        _ms(r.notes.get("send_lag_p99_ms", 0.0)),
    ]
    headers = [
        "scheduled /s",
        "accepted /s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "send lag p99 ms",
    ]
    return Table(headers, [row])


def _cost_note(figures: IngestFigures) -> str:
    ours = cpu_report.cost_us(figures.ours) if figures.ours else None
    nodb = cpu_report.cost_us(figures.nodb) if figures.nodb else None
    if ours is None or nodb is None:
        return ""
    return (
        f"- CPU per delivery, all processes: ours {ours:,.0f} µs, (a) {nodb:,.0f} µs. If both "
        f"were purely CPU-bound on an otherwise idle machine, ours ÷ (a) would be "
        f"≈ {nodb / ours:.0%} (a noise-resistant cross-check of the measured ratio)."
    )


def _generator_note(figures: IngestFigures) -> str:
    shares = [
        f"{name} {p.result.own_cpu_share:.0%}"
        for name, p in (
            ("full load", figures.ours),
            ("half load", figures.half),
            ("(a)", figures.nodb),
        )
        if p is not None
    ]
    limit = cpu_report.DRIVER_LIMIT
    busy = [p for p in (figures.ours, figures.half, figures.nodb) if p is not None]
    verdict = (
        f"at or above {limit:.0%} of one core: it may be the bottleneck"
        if any(p.result.own_cpu_share >= limit for p in busy)
        else f"below {limit:.0%} of one core in every pass, so it was not the bottleneck"
    )
    return (
        "The load generator (own process, its own `getrusage` over the window) used "
        f"{', '.join(shares)} of one core: {verdict}."
    )


def _checks(figures: IngestFigures) -> list[str]:
    lines = ["Stored rows versus acknowledged operations (checked with SQL after each pass):", ""]
    for what, expected, found in figures.row_checks:
        verdict = "equal" if expected == found else "**DIFFERENT**"
        lines.append(f"- {what}: acknowledged {_n(expected)}, rows {_n(found)} — {verdict}")
    return ["\n".join(lines)]


def _targets(figures: IngestFigures) -> list[Target]:
    vs_a, vs_b = _ratio(figures.ours, figures.nodb), _ratio(figures.ours, figures.library)
    half = figures.half.result if figures.half else None
    ours_checks = [c for c in figures.row_checks if "pass" in c[0]]
    errors = [p.result.errors for p in (figures.ours, figures.half) if p is not None]
    return [
        Target(
            "ingest vs (a) no-DB stack",
            ">= 50 %",
            f"{vs_a:.0%}" if vs_a is not None else "—",
            None if vs_a is None else vs_a >= 0.5,
        ),
        Target(
            "ingest vs (b) eventsourcing save()",
            ">= 6x",
            f"{vs_b:.1f}x" if vs_b is not None else "—",
            None if vs_b is None else vs_b >= 6,
        ),
        Target(
            "p99 at half of max (open loop)",
            "<= 50 ms",
            f"{half.latency.p99_ms:.1f} ms" if half else "—",
            None if half is None else half.latency.p99_ms <= 50,
        ),
        Target(
            "every accepted delivery stored",
            "rows = accepted",
            ("equal" if all(e == f for _, e, f in ours_checks) else "different")
            if ours_checks
            else "—",
            all(e == f for _, e, f in ours_checks) if ours_checks else None,
        ),
        Target(
            "errors (non-200) at full and half load",
            "0",
            str(sum(errors)),
            sum(errors) == 0 if errors else None,
        ),
    ]


def build_section(ctx: BenchContext, figures: IngestFigures) -> Section:
    cores = os.cpu_count() or 1
    passes = [
        (name, p)
        for name, p in (
            ("ours", figures.ours),
            ("ours at half load", figures.half),
            ("(a) no database", figures.nodb),
            ("(b) eventsourcing", figures.library),
            ("(c) asyncpg", figures.asyncpg),
        )
        if p is not None
    ]
    body = figures.ours or figures.nodb
    body_bytes = int(body.result.notes.get("body_bytes", 0)) if body else 0
    intro = (
        f"Concurrency {ctx.concurrency}, {ctx.duration:g} s measured after {ctx.warmup:g} s of "
        f"warm-up, per pass. Deliveries: signed Stripe `customer.subscription.updated`, "
        f"{body_bytes:,} byte body, unique `evt_…` id each. Servers run with 2 uvicorn workers; "
        "every driver is its own process. Ratios compare passes of this same run.\n\n"
        "- ours: `hookledger serve` (group-commit appender) on a fresh database;\n"
        "- (a) `bench.nodb_app`: the real `Intake` (verify, parse, build the event) with an "
        "appender that accepts without storing, served the same way;\n"
        "- (b) `bench.es_ceiling`: `Application.save()` of a one-event aggregate carrying the "
        "decoded body, one transaction each (the library's LOCK TABLE + NOTIFY + INSERT), "
        f"{ctx.concurrency} threads over 2 processes;\n"
        f"- (c) `bench.asyncpg_ceiling`: {ctx.concurrency} tasks, one INSERT (unique text key, "
        "bytea body) per implicit transaction."
    )
    section = Section("Ingest", targets=_targets(figures))
    section.blocks += [
        intro,
        _throughput(figures),
        "Open loop at half of our maximum (latency from each delivery's scheduled send time):",
        _half(figures),
    ]
    section.blocks += _checks(figures)
    section.blocks += [
        "CPU during each measured window, in cores (CPU seconds per wall second), and per "
        "operation; *unattributed* is everything else on this shared machine:",
        cpu_report.table(passes),
    ]
    section.blocks += [_generator_note(figures), *cpu_report.warnings(passes)]
    limits = [
        cpu_report.limits(name, p, cores)
        for name, p in passes
        if name in ("ours", "(a) no database")
    ]
    section.blocks.append("What limits the number:\n\n" + "\n".join([*limits, _cost_note(figures)]))
    section.failures += figures.failures
    return section
