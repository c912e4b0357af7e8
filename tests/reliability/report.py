"""What ``python -m tests.reliability`` prints: one block per scenario and the summary line."""

from __future__ import annotations

from dataclasses import dataclass

from tests.reliability.crash import CrashResult
from tests.reliability.flood import FloodResult
from tests.reliability.outage import OutageResult
from tests.reliability.worker_crash import WorkerCrashResult
from tests.support.retry_storm import StormResult


@dataclass
class Totals:
    sent: int = 0
    acknowledged: int = 0
    stored: int = 0
    duplicates: int = 0
    """Rows stored twice for one key (must be 0)."""
    duplicate_answers: int = 0
    """Deliveries answered "duplicate" (retries of stored ones): counted, never stored again."""
    lost: int = 0
    """Acknowledged but not in the log (must be 0)."""
    forged_accepted: int = 0
    """Forged deliveries acknowledged or stored (must be 0)."""
    kills_survived: int = 0
    outage_seconds: float = 0.0
    recovery_seconds: float | None = None

    def line(self) -> str:
        recovery = "-" if self.recovery_seconds is None else f"{self.recovery_seconds:.2f}"
        return (
            f"deliveries sent {self.sent}, acknowledged {self.acknowledged}, stored {self.stored},"
            f" duplicates stored {self.duplicates} (duplicate answers {self.duplicate_answers}),"
            f" lost {self.lost}, forged accepted {self.forged_accepted},"
            f" kills survived {self.kills_survived}, outage {self.outage_seconds:.1f} s,"
            f" recovery {recovery} s"
        )

    def add_crash(self, r: CrashResult) -> None:
        self.sent += r.deliveries
        self.acknowledged += r.acknowledged
        self.stored += r.stored_rows
        self.duplicates += r.stored_rows - r.distinct_keys
        self.duplicate_answers += r.duplicate_answers
        self.lost += r.lost
        self.forged_accepted += r.forged_accepted + r.forged_stored
        self.kills_survived += r.kills_done

    def add_outage(self, r: OutageResult) -> None:
        self.sent += r.deliveries
        self.acknowledged += r.acknowledged
        self.stored += r.stored_rows
        self.duplicates += r.stored_rows - r.distinct_keys
        self.lost += r.lost
        self.forged_accepted += r.forged_accepted + r.forged_stored
        self.outage_seconds += r.down_seconds
        self.recovery_seconds = r.recovery_seconds

    def add_storm(self, r: StormResult) -> None:
        self.sent += r.n * r.repetitions
        self.acknowledged += r.outcomes["accepted"] + r.outcomes["duplicate"]
        self.stored += r.stored_rows
        self.duplicates += r.stored_rows - r.distinct_keys
        self.duplicate_answers += r.outcomes["duplicate"]
        self.lost += r.missing

    def add_flood(self, r: FloodResult) -> None:
        self.sent += r.alone.count + r.flooded.count + r.forged_sent
        self.acknowledged += r.alone.count + r.flooded.count - r.alone.non_200 - r.flooded.non_200
        self.stored += r.alone.count + r.flooded.count - r.genuine_missing
        self.lost += r.genuine_missing
        self.forged_accepted += r.forged_stored + sum(
            n for status, n in r.forged_answers.items() if status.startswith("2")
        )


def print_crash(r: CrashResult) -> None:
    restarts = ", ".join(f"{s:.1f}" for s in r.restart_seconds)
    m = r.read_models
    print(f"crash   {r.deliveries} deliveries ({r.forged} forged), {r.kills_done} kills survived")
    print(
        f"        acknowledged {r.acknowledged}, stored {r.stored_rows} rows /"
        f" {r.distinct_keys} keys, duplicate answers {r.duplicate_answers}"
    )
    print(
        f"        lost {r.lost}, missing {r.missing}, forged stored {r.forged_stored},"
        f" forged accepted {r.forged_accepted}; restarts took [{restarts}] s; {r.seconds:.1f} s"
    )
    print(
        f"        read models {m.rows} vs rebuild: differing {m.differing or 'none'},"
        f" parked {m.parked}, checkpoint {m.lowest_checkpoint}/{m.head}"
    )
    print(f"        answers {r.answers}")


def print_outage(r: OutageResult) -> None:
    recovery = "none" if r.recovery_seconds is None else f"{r.recovery_seconds:.3f} s"
    print(
        f"outage  {r.deliveries} deliveries ({r.forged} forged), database down"
        f" {r.down_seconds:.1f} s, recovery {recovery}"
    )
    print(f"        while down: deliveries {r.answers_while_down}, probes {r.probes_while_down}")
    print(
        f"        acknowledged {r.acknowledged}, stored {r.stored_rows} rows /"
        f" {r.distinct_keys} keys, lost {r.lost}, missing {r.missing},"
        f" forged stored {r.forged_stored}, forged accepted {r.forged_accepted}; {r.seconds:.1f} s"
    )


def print_worker(r: WorkerCrashResult) -> None:
    m = r.read_models
    print(
        f"worker  {r.events} events, {r.kill_rounds} kill rounds ({r.processes_killed} worker"
        f" processes SIGKILLed) during catch-up; caught up in {r.catch_up_seconds:.1f} s"
    )
    print(
        f"        read models {m.rows} vs rebuild: differing {m.differing or 'none'},"
        f" parked {m.parked}, checkpoint {m.lowest_checkpoint}/{m.head}"
    )


def print_storm(r: StormResult) -> None:
    print(
        f"storm   {r.n} deliveries x {r.repetitions}: answers {dict(r.statuses)},"
        f" outcomes {dict(r.outcomes)}"
    )
    print(
        f"        stored {r.stored_rows} rows / {r.distinct_keys} keys, missing {r.missing},"
        f" /metrics duplicates {r.duplicates_metric}; {r.seconds:.1f} s"
        f" ({r.n * r.repetitions / max(r.seconds, 1e-9):.0f} req/s)"
    )


def print_flood(r: FloodResult) -> None:
    a, f = r.alone, r.flooded
    rate = "full speed" if r.rate is None else f"target {r.rate:.0f}/s"
    print(
        f"flood   ({rate}) genuine alone: {a.count}, p50 {a.p50_ms:.1f} ms, p99 {a.p99_ms:.1f} ms;"
        f" next to the flood: {f.count}, p50 {f.p50_ms:.1f} ms, p99 {f.p99_ms:.1f} ms"
    )
    print(
        f"        ratio flooded/alone: p50 {r.p50_ratio:.2f}x, p99 {r.p99_ratio:.2f}x;"
        f" forged sent {r.forged_sent} ({r.forged_per_second:.0f}/s from one address),"
        f" answers {r.forged_answers}, stored {r.forged_stored}, log lines {r.flood_log_lines}"
    )
