"""CPU figures for report sections: who used the machine during each pass, and what that implies.

Generic over suites: anything measured as a ``Pass`` (a driver result plus the CPU sampled over
its window) gets the same table, warnings and "what limits the number" note.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.cpu import DRIVER, PG_BENCH, PG_OTHER, SERVER, CpuUsage
from bench.report import Table
from bench.stats import Pass

GROUPS = (SERVER, PG_BENCH, PG_OTHER, DRIVER)
DRIVER_LIMIT = 0.8
"""A driver using this share of one core or more may be what limits its own figure."""
NOISE_LIMIT = 0.25
"""Cores used by processes outside the benchmark above which a pass counts as disturbed."""


def others(cpu: CpuUsage) -> str:
    busy = [f"{name} {cores:.2f}" for name, cores in cpu.others.items() if cores >= 0.02]
    return f" (top: {', '.join(busy)})" if busy else ""


def cost_us(measured: Pass) -> float | None:
    """CPU microseconds per operation, summed over every watched process group."""
    if measured.cpu is None or measured.result.rate <= 0:
        return None
    return sum(measured.cpu.groups.values()) / measured.result.rate * 1e6


def table(passes: Sequence[tuple[str, Pass]], groups: Sequence[str] = GROUPS) -> Table:
    rows = []
    for name, measured in passes:
        cpu, rate = measured.cpu, measured.result.rate
        if cpu is None:
            rows.append([name, "not sampled", *[""] * (len(groups) + 1)])
            continue
        cells = [name, f"{cpu.machine_busy:.2f}"]
        for group in groups:
            cores = cpu.groups.get(group, 0.0)
            per_op = f"{cores / rate * 1e6:,.0f} µs/op" if rate > 0 else "—"
            busiest = f", max 1 proc {cpu.busiest.get(group, 0.0):.2f}" if group == SERVER else ""
            cells.append(f"{cores:.2f} ({per_op}{busiest})")
        cells.append(f"{cpu.unattributed:.2f}{others(cpu)}")
        rows.append(cells)
    return Table(["pass", "machine busy", *groups, "unattributed"], rows)


def warnings(passes: Sequence[tuple[str, Pass]]) -> list[str]:
    out = []
    for name, measured in passes:
        result = measured.result
        share = result.notes.get("busiest_process_cpu_share", result.own_cpu_share)
        if share >= DRIVER_LIMIT:
            out.append(
                f"**Warning:** the driver of *{name}* used {share:.0%} of one core (in its busiest "
                "process) during its window: it may be the bottleneck of that figure."
            )
    disturbed = [
        f"{name} {m.cpu.unattributed:.2f}"
        for name, m in passes
        if m.cpu is not None and m.cpu.unattributed >= NOISE_LIMIT
    ]
    if disturbed:
        out.append(
            "**Noise:** processes outside the benchmark used CPU during "
            + ", ".join(disturbed)
            + " (cores): those figures are low by roughly that share of the machine, and ratios "
            "between passes disturbed differently are skewed. The per-operation CPU costs "
            "above are much less sensitive to this."
        )
    return out


def limits(name: str, measured: Pass, cores: int, groups: Sequence[str] = GROUPS) -> str:
    cpu, total_us = measured.cpu, cost_us(measured)
    if cpu is None or total_us is None:
        return f"- *{name}*: no CPU samples."
    split = ", ".join(f"{g} {cpu.groups[g]:.2f}" for g in groups if cpu.groups.get(g, 0) >= 0.01)
    other = f"{cpu.unattributed:.2f}{others(cpu)}"
    text = f"- *{name}*: {cpu.machine_busy:.2f} of {cores} cores busy ({split}; other {other}). "
    if cpu.machine_busy >= 0.9 * cores:
        return text + (
            "The machine was CPU-saturated, so the figure is bounded by the CPU one operation "
            f"costs across all processes ({total_us:,.0f} µs here, "
            f"≈ {cores / total_us * 1e6:,.0f}/s if nothing else ran); "
            "the biggest share above is the first thing to shrink."
        )
    if cpu.busiest.get(SERVER, 0.0) >= 0.9:
        return text + "One server worker process was at a full core: the server is the limit."
    return text + (
        "CPU was left idle, so the limit is waiting (commit and lock round trips, the "
        "operations in flight), not CPU."
    )
