"""What every benchmark suite gets: the database server, run length, scratch space, CPU sampler."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.cpu import CpuSampler


@dataclass(frozen=True, slots=True)
class BenchContext:
    admin_url: str
    """A PostgreSQL server URL on which suites create (and drop) their own databases."""
    postmaster_pid: int | None
    """The server's main process when it runs on this machine (CPU sampling), else None."""
    scratch: Path
    """A folder for logs and driver results, removed after the run."""
    duration: float
    """Seconds of each measured window."""
    warmup: float
    concurrency: int
    sampler: CpuSampler
    full: bool = False
    """``--full``: the large sizes (1M-event log) instead of the quick ones."""
