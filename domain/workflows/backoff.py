"""The retry schedule: exponential backoff with full jitter, capped, and the dead-letter rule.

After the n-th failed attempt the next one waits ``rand * min(cap, base * 2**(n-1))`` seconds,
with ``rand`` uniform in [0, 1) supplied by the caller (full jitter: retries of many jobs that
failed together spread out instead of arriving together). After ``max_attempts`` failed
attempts the job is dead (dead-letter) and waits for an operator.
"""

from __future__ import annotations

_MAX_DOUBLINGS = 60  # 2**60 * any sane base is far beyond any cap


def ceiling(attempt: int, base: float, cap: float) -> float:
    """The longest wait after failed attempt number ``attempt`` (1-based)."""
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    return min(cap, base * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS))


def backoff_delay(attempt: int, base: float, cap: float, rand: float) -> float:
    """Seconds to wait after failed attempt ``attempt``; ``rand`` in [0, 1)."""
    if not 0.0 <= rand < 1.0:
        raise ValueError("rand must be in [0, 1)")
    return rand * ceiling(attempt, base, cap)


def next_delay(
    attempts_made: int, max_attempts: int, base: float, cap: float, rand: float
) -> float | None:
    """After ``attempts_made`` failed attempts: seconds until the next, or None for dead."""
    if attempts_made >= max_attempts:
        return None
    return backoff_delay(attempts_made, base, cap, rand)
