"""Short version of the forged-flood scenario (long: ``make reliability``, which also prints the
genuine latencies with and without the flood): a flood of forged deliveries from one address
gets only 401s, stores nothing, is logged in a few lines, and every genuine delivery next to it
is answered 200 and stored."""

from __future__ import annotations

import random
from pathlib import Path

from tests.reliability.flood import forged_flood


async def test_a_forged_flood_gets_in_nowhere_and_genuine_deliveries_go_through(
    database_url: str, tmp_path: Path
) -> None:
    result = await forged_flood(
        database_url, tmp_path, deliveries=300, seed=random.randrange(2**32)
    )
    assert result.violations() == []
    assert result.forged_sent > 0
    assert result.forged_answers == {"401": result.forged_sent}
    assert 0 < result.flood_log_lines < result.forged_sent
    assert result.flooded.count == 300
