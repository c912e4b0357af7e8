"""``make bench`` (``python -m bench [--full]``): run every suite, print a table, write RESULTS.md.

Quick mode measures each pass for 15 s on a 200k-event log, ``--full`` for 60 s on a 1M-event
log. The PostgreSQL server follows the project's rules (``TEST_DATABASE_URL``, ``DATABASE_URL``,
else an embedded server); every suite creates and drops its own databases. Suites are functions
from ``BenchContext`` to report ``Section``s (one, or a list); add one to ``SUITES`` to append
sections.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import database, ingest, log_suites, loop, machine
from bench.context import BenchContext
from bench.cpu import CpuSampler
from bench.report import RunInfo, Section, render_console, write

Suite = Callable[[BenchContext], Section | list[Section]]
SUITES: list[Suite] = [ingest.run, log_suites.run]

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
CAVEATS = (
    "This machine is shared: other engineers may run tests or servers at the same time, so "
    "absolute numbers are noisy (see *unattributed* CPU). Compare the ratios, which come from "
    "passes of the same run.",
)


def _sections(result: Section | list[Section]) -> list[Section]:
    return result if isinstance(result, list) else [result]


def _command(args: argparse.Namespace, argv: Sequence[str]) -> str:
    if os.environ.get("MAKELEVEL"):
        return "make bench" + (" FULL=1" if args.full else "")
    return " ".join(["python -m bench", *argv])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="60 s per pass and a 1M-event log")
    parser.add_argument("--duration", type=float, help="seconds per measured pass")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each window")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the report")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    duration = args.duration or (60.0 if args.full else 15.0)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sampler = CpuSampler()
    with (
        tempfile.TemporaryDirectory(prefix="hookledger-bench-") as tmp,
        database.server(Path(tmp)) as admin,
    ):
        scratch = Path(tmp) / "run"
        scratch.mkdir()
        ctx = BenchContext(
            admin_url=admin,
            postmaster_pid=database.postmaster_pid(admin),
            scratch=scratch,
            duration=duration,
            warmup=args.warmup,
            concurrency=args.concurrency,
            sampler=sampler,
            full=args.full,
        )
        postgres = str(database.query(admin, "SHOW server_version"))
        sync_commit = str(database.query(admin, "SHOW synchronous_commit"))
        sampler.start()
        try:
            sections = [s for suite in SUITES for s in _sections(suite(ctx))]
        finally:
            sampler.stop()
    facts = [
        *machine.facts(),
        ("PostgreSQL", f"{postgres} ({database.source_description()})"),
        ("synchronous_commit", sync_commit),
        ("event loop", loop.loop_name()),
        ("mode", f"{'full' if args.full else 'quick'}: {duration:g} s per pass"),
    ]
    info = RunInfo(date, machine.git_commit(), _command(args, argv), facts, CAVEATS)
    print(render_console(info, sections))
    write(args.output, info, sections)
    print(f"wrote {args.output}")
    return 1 if any(section.failures for section in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
