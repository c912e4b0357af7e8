"""Who used the CPU during a measured window: per-process sampling from /proc (Linux).

A background thread reads ``/proc/<pid>/stat`` of the watched process trees (a root pid and all
its descendants) and of the PostgreSQL server's processes, plus the machine total from
``/proc/stat``, a few times a second. ``usage(t0, t1)`` turns two samples into cores used per
group, so each figure can say whether a server, the database, the load generator or something
else on this shared machine was the limit.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

_TICK = float(os.sysconf("SC_CLK_TCK"))
SERVER = "server under test"
DRIVER = "load generator / driver"
PG_BENCH = "postgres: bench db backends"
PG_OTHER = "postgres: other processes"
_OTHER = "\0other:"


@dataclass(frozen=True, slots=True)
class CpuUsage:
    seconds: float
    groups: dict[str, float]
    """Cores used (CPU seconds / wall seconds) per watched group."""
    busiest: dict[str, float]
    """Cores used by the single busiest process of each group."""
    machine_busy: float
    """Cores busy on the whole machine, whoever used them."""
    others: dict[str, float] = field(default_factory=dict)
    """Cores used by the busiest processes outside the watched groups, by command name."""

    @property
    def unattributed(self) -> float:
        return max(0.0, self.machine_busy - sum(self.groups.values()))


def _read_stat(pid: int) -> tuple[str, int, float] | None:
    """``(command name, ppid, cpu seconds)`` of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    close = raw.rfind(b")")
    fields = raw[close + 2 :].split()
    comm = raw[raw.find(b"(") + 1 : close].decode(errors="replace")
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / _TICK


@dataclass(slots=True)
class _Sample:
    at: float
    machine: float
    procs: dict[int, tuple[str, float]]


@dataclass
class CpuSampler:
    interval: float = 0.5
    _roots: dict[str, int] = field(default_factory=dict)
    _postgres: tuple[int, str] | None = None
    _known: dict[int, tuple[str, float]] = field(default_factory=dict)
    _samples: list[_Sample] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def watch(self, group: str, root_pid: int) -> None:
        """Counts ``root_pid`` and all its descendants as ``group`` from now on."""
        with self._lock:
            self._roots[group] = root_pid

    def watch_postgres(self, postmaster_pid: int, database: str) -> None:
        """Splits the server's processes into this database's backends and everything else."""
        with self._lock:
            self._postgres = (postmaster_pid, database)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        table: dict[int, tuple[str, int, float]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (stat := _read_stat(int(entry))) is not None:
                table[int(entry)] = stat
        children: dict[int, list[int]] = {}
        for pid, (_, ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        with self._lock:
            groups = [(group, root, False) for group, root in self._roots.items()]
            if self._postgres is not None:
                groups.append((PG_OTHER, self._postgres[0], True))
            watched: set[int] = set()
            for group, root, is_postgres in groups:
                stack = [root]
                while stack:
                    pid = stack.pop()
                    if pid not in table:
                        continue
                    stack.extend(children.get(pid, []))
                    name = group
                    if is_postgres and self._postgres and f" {self._postgres[1]} " in _cmdline(pid):
                        name = PG_BENCH
                    self._known[pid] = (name, table[pid][2])
                    watched.add(pid)
            for pid, (comm, _, seconds) in table.items():
                if pid not in watched:
                    self._known[pid] = (_OTHER + comm, seconds)
            sample = _Sample(time.monotonic(), _machine_busy_seconds(), dict(self._known))
            self._samples.append(sample)

    def usage(self, start: float, end: float) -> CpuUsage:
        """Cores used between the last sample at/before ``start`` and the first at/after ``end``."""
        with self._lock:
            samples = list(self._samples)
        if len(samples) < 2:
            raise RuntimeError("not enough CPU samples")
        first = max((s for s in samples if s.at <= start), key=lambda s: s.at, default=samples[0])
        last = min((s for s in samples if s.at >= end), key=lambda s: s.at, default=samples[-1])
        wall = max(last.at - first.at, 1e-9)
        groups: dict[str, float] = {}
        busiest: dict[str, float] = {}
        others: dict[str, float] = {}
        for pid, (group, total) in last.procs.items():
            before = first.procs.get(pid)
            cores = (total - (before[1] if before else 0.0)) / wall
            if group.startswith(_OTHER):
                name = group.removeprefix(_OTHER)
                others[name] = others.get(name, 0.0) + cores
                continue
            groups[group] = groups.get(group, 0.0) + cores
            busiest[group] = max(busiest.get(group, 0.0), cores)
        top = dict(sorted(others.items(), key=lambda kv: -kv[1])[:4])
        return CpuUsage(wall, groups, busiest, (last.machine - first.machine) / wall, top)
