"""Rejected deliveries counted per remote address, and which of them deserve a log line.

Every rejection is counted. The log gets a line on an address's 1st, 2nd, 4th, 8th, … rejection,
carrying the running count: a flood of forged requests from one address costs a few dozen log
lines, not one per request, and the count in the last line says how big it was. The table is
bounded: beyond ``max_addresses`` the least recently rejected address is forgotten (its count
starts again), so a flood from many addresses cannot grow memory without limit.
"""

from __future__ import annotations

from collections import OrderedDict


class RejectionTally:
    def __init__(self, max_addresses: int = 10_000) -> None:
        self._max = max_addresses
        self._counts: OrderedDict[str, int] = OrderedDict()

    def record(self, remote: str) -> tuple[int, bool]:
        """Counts one rejection from ``remote``: (its count so far, whether to log this one)."""
        n = self._counts.pop(remote, 0) + 1
        self._counts[remote] = n
        if len(self._counts) > self._max:
            self._counts.popitem(last=False)
        return n, n & (n - 1) == 0

    def count(self, remote: str) -> int:
        return self._counts.get(remote, 0)

    def __len__(self) -> int:
        return len(self._counts)
