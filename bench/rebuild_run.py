"""One measured ``hookledger rebuild all``: the real CLI as a child process on a loaded log.

Wall time is from starting the command until it exits (start-up, migrations check, replay, swap
and dropping the old generations included), so events/s is what an operator sees. Peak RSS is the
kernel's high-water mark of that process (``VmHWM`` in ``/proc/<pid>/status``, reset by exec),
read every 50 ms until it exits; being a high-water mark, only growth in the last 50 ms could be
missed. (``wait4``'s ``ru_maxrss`` is not used: it also counts the pre-exec copy of this
orchestrator forked for the child.) CPU of the process and of its database backends over the same
window comes from the run's CPU sampler.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.context import BenchContext
from bench.cpu import SERVER, CpuUsage
from bench.procs import BIN, ROOT, ChildFailed, tail
from bench.stats import DriverResult, LatencySummary, Pass

_PROGRESS = re.compile(rb"([\d,]+)/([\d,]+)\s+[\d.]+%\s+([\d,]+) ev/s")


@dataclass(frozen=True, slots=True)
class RebuildRun:
    events: int
    wall_seconds: float
    peak_rss_mb: float
    """The rebuild process's ``VmHWM`` (peak resident set)."""
    replay_rate: float
    """The CLI's own last progress figure: events/s of the replay alone (no start-up, no swap)."""
    measured: Pass
    """The run as a pass (ok = events, window = the process's lifetime) with its CPU."""

    @property
    def rate(self) -> float:
        return self.events / self.wall_seconds


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _sample_rss(pid: int, peak: list[float], stop: threading.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], _peak_rss_mb(pid))
        stop.wait(0.05)


def run(ctx: BenchContext, url: str, events: int, label: str) -> RebuildRun:
    log = ctx.scratch / f"{label}.log"
    env = {**os.environ, "DATABASE_URL": url}
    with log.open("wb") as log_file:
        started = time.monotonic()
        proc = subprocess.Popen(
            [str(BIN / "hookledger"), "rebuild", "all"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ctx.sampler.watch(SERVER, proc.pid)
    peak, stop = [0.0], threading.Event()
    sampler = threading.Thread(target=_sample_rss, args=(proc.pid, peak, stop), daemon=True)
    sampler.start()
    proc.wait()
    finished = time.monotonic()
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise ChildFailed(f"hookledger rebuild all exited with {proc.returncode}:\n{tail(log)}")
    progress = _PROGRESS.findall(Path(log).read_bytes())
    replay_rate = float(progress[-1][2].replace(b",", b"")) if progress else 0.0
    try:
        cpu: CpuUsage | None = ctx.sampler.usage(started, finished)
    except RuntimeError:
        cpu = None
    result = DriverResult(
        label=label,
        ok=events,
        errors=0,
        window_start=started,
        window_end=finished,
        latency=LatencySummary(0, 0.0, 0.0, 0.0, 0.0),
        own_cpu_seconds=cpu.groups.get(SERVER, 0.0) * (finished - started) if cpu else 0.0,
    )
    return RebuildRun(
        events=events,
        wall_seconds=finished - started,
        peak_rss_mb=peak[0],
        replay_rate=replay_rate,
        measured=Pass(result, cpu),
    )


def best_of(ctx: BenchContext, url: str, events: int, label: str, runs: int = 2) -> RebuildRun:
    """The fastest of ``runs`` rebuilds of the same log (on a shared machine, other processes
    only ever slow a run down), with the highest peak RSS of them all."""
    done = [run(ctx, url, events, f"{label}-{i + 1}") for i in range(runs)]
    fastest = max(done, key=lambda r: r.rate)
    peak = max(r.peak_rss_mb for r in done)
    return RebuildRun(
        fastest.events, fastest.wall_seconds, peak, fastest.replay_rate, fastest.measured
    )
