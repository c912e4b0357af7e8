"""What every measuring process hands back: counts, a time window and a latency summary.

Driver processes (load generator, ceiling drivers) write one ``DriverResult`` as JSON; the
orchestrator reads it back. Window times are ``time.monotonic()`` values, which on Linux share one
clock across processes, so the orchestrator can line them up with its CPU samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from bench.cpu import CpuUsage


class LatencySummary(msgspec.Struct, frozen=True):
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float


class DriverResult(msgspec.Struct, frozen=True):
    label: str
    ok: int
    """Successful operations completed inside the measured window."""
    errors: int
    """Failed operations inside the window (non-200 answers, exceptions)."""
    window_start: float
    window_end: float
    latency: LatencySummary
    own_cpu_seconds: float
    """CPU (user + system) the driver process itself used during the window."""
    totals: dict[str, int] = msgspec.field(default_factory=dict)
    """Whole-run counters (warm-up and drain included), e.g. for row-count checks."""
    notes: dict[str, float] = msgspec.field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.window_end - self.window_start

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    @property
    def own_cpu_share(self) -> float:
        """The driver's CPU as a fraction of one core over the window."""
        return self.own_cpu_seconds / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Pass:
    """One measured pass: what its driver reported, and the CPU sampled over its window."""

    result: DriverResult
    cpu: CpuUsage | None


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0.0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def summarize(latencies_seconds: Sequence[float]) -> LatencySummary:
    ordered = sorted(latencies_seconds)
    if not ordered:
        return LatencySummary(0, 0.0, 0.0, 0.0, 0.0)
    return LatencySummary(
        count=len(ordered),
        p50_ms=percentile(ordered, 0.50) * 1000,
        p99_ms=percentile(ordered, 0.99) * 1000,
        max_ms=ordered[-1] * 1000,
        mean_ms=sum(ordered) / len(ordered) * 1000,
    )


def write_result(path: Path, result: DriverResult) -> None:
    path.write_bytes(msgspec.json.encode(result))


def read_result(path: Path) -> DriverResult:
    return msgspec.json.decode(path.read_bytes(), type=DriverResult)
