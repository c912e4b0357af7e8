"""Facts about the machine and software a run happened on, for the results header."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from bench.procs import ROOT


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    dirty = subprocess.run(
        # --no-optional-locks: a read-only look, no index refresh written to .git.
        ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    suffix = " (work tree has uncommitted changes)" if dirty.stdout.strip() else ""
    return done.stdout.strip() + suffix


def facts() -> list[tuple[str, str]]:
    return [
        ("cores", str(os.cpu_count())),
        ("memory", memory_gib()),
        ("CPU model", cpu_model()),
        ("kernel", platform.release()),
        ("Python", platform.python_version()),
    ]
