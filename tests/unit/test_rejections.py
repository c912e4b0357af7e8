"""The per-address rejection tally: every rejection counted, logged at 1, 2, 4, 8, …, bounded."""

from __future__ import annotations

from app.rejections import RejectionTally


def test_counts_every_rejection_and_logs_at_powers_of_two() -> None:
    tally = RejectionTally()
    logged = [n for n, log in (tally.record("10.0.0.1") for _ in range(100)) if log]
    assert logged == [1, 2, 4, 8, 16, 32, 64]
    assert tally.count("10.0.0.1") == 100
    assert tally.record("10.0.0.2") == (1, True)
    assert tally.count("10.0.0.1") == 100


def test_forgets_the_least_recently_rejected_address_beyond_its_bound() -> None:
    tally = RejectionTally(max_addresses=2)
    tally.record("a")
    tally.record("b")
    tally.record("a")
    tally.record("c")  # "b" is the least recently rejected: forgotten
    assert len(tally) == 2
    assert (tally.count("a"), tally.count("b"), tally.count("c")) == (2, 0, 1)
    assert tally.record("b") == (1, True)
