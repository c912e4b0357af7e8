""" "What limits the number" for the projection figures, read off the CPU sampled in the same run.

The rebuild is one single-threaded Python process (asyncio) plus PostgreSQL backends: if that
process used about a full core it is Python-bound; if the machine was saturated the figure is
bounded by everyone's CPU; otherwise it waited (round trips, commits). The library runner commits
once per event, so its cost per event is read as CPU per event plus waiting per event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.cpu import DRIVER, PG_BENCH, SERVER
from bench.live_lag import WORKER
from bench.stats import Pass

if TYPE_CHECKING:
    from bench.log_suites import LogFigures

FULL_CORE = 0.85


def _rebuild(name: str, measured: Pass, cores: int) -> str:
    cpu, rate = measured.cpu, measured.result.rate
    if cpu is None or rate <= 0:
        return f"- *{name}*: no CPU samples."
    own, pg = cpu.groups.get(SERVER, 0.0), cpu.groups.get(PG_BENCH, 0.0)
    costs = f"{own / rate * 1e6:,.0f} µs of rebuild-process CPU and {pg / rate * 1e6:,.0f} µs of "
    text = (
        f"- *{name}*: the rebuild process used {own:.2f} cores, its PostgreSQL backends {pg:.2f}, "
        f"others {cpu.unattributed:.2f} (machine {cpu.machine_busy:.2f} of {cores}); per event "
        + costs
        + "PostgreSQL CPU. "
    )
    if own >= FULL_CORE:
        return text + (
            "The rebuild process was at a full core: Python (reading rows, mapping, folding, "
            "encoding parameters) is the limit; PostgreSQL work overlaps it on the other "
            "connections."
        )
    if cpu.machine_busy >= 0.9 * cores:
        return text + (
            "The machine was CPU-saturated (other processes included), so the figure is bounded "
            "by the CPU one event costs across the rebuild and PostgreSQL."
        )
    serial = (own + pg) / rate * 1e6
    return text + (
        "CPU was left idle, yet neither side was busy all the time: each read model's batch is "
        "folded in Python, then written by PostgreSQL while its connection waits; the rebuild "
        "gives each of the three read models its own connection, so one is folded while the "
        "others are written, but the folds themselves take turns in one Python thread. "
        f"Strictly alternating, an event would cost {serial:.0f} µs "
        f"(≈ {1e6 / serial:,.0f} events/s) against {rate:,.0f} measured. Less Python per "
        "event, or folding in more than one process, are the ways up."
    )


def _library(measured: Pass) -> str:
    cpu, result = measured.cpu, measured.result
    if result.rate <= 0:
        return "- *library runner*: not measured."
    per_event_ms = 1000 / result.rate
    own_ms = result.own_cpu_seconds / result.ok * 1000 if result.ok else 0.0
    pg = f"{cpu.groups.get(PG_BENCH, 0.0) / result.rate * 1000:.2f} ms" if cpu else "unknown"
    return (
        f"- *library runner*: {per_event_ms:.2f} ms per event, of which {own_ms:.2f} ms CPU in "
        f"its own process and {pg} in PostgreSQL; the rest is waiting. One transaction per "
        "event (read state, write state, write the row, write the tracking record, COMMIT with "
        "its WAL flush) makes it round-trip- and commit-bound, not CPU-bound."
    )


def _lag(figures: LogFigures) -> str:
    if figures.lag is None:
        return "- *live lag*: not measured."
    cpu = figures.lag.lag.cpu
    worker = cpu.groups.get(WORKER, 0.0) if cpu else 0.0
    load = cpu.groups.get(DRIVER, 0.0) if cpu else 0.0
    return (
        f"- *live lag*: the worker used {worker:.2f} cores (load generator {load:.2f}; the probe "
        "counts as unattributed) "
        "at this rate, so it keeps up with room to spare; the lag is the time for the three "
        "projection runners to be woken by NOTIFY, read the new events and commit their step "
        "(each runner commits its own transaction, so the slowest of the three sets the figure)."
    )


def projection_limits(figures: LogFigures, cores: int) -> list[str]:
    out = []
    for run in (figures.rebuild, figures.rebuild_small):
        if run is not None:
            out.append(_rebuild(f"rebuild {run.events:,}", run.measured, cores))
    if figures.library is not None:
        out.append(_library(figures.library))
    out.append(_lag(figures))
    return out
