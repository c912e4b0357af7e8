"""Short version of the worker-crash scenario (long: ``make reliability``, 100,000 events):
projection workers SIGKILLed three times while catching up on 15,000 events; the read models end
equal to a rebuild from scratch and nothing is parked."""

from __future__ import annotations

import random
from pathlib import Path

from tests.reliability.worker_crash import workers_killed_while_catching_up


async def test_workers_sigkilled_while_catching_up_end_equal_to_a_rebuild(
    database_url: str, tmp_path: Path
) -> None:
    seed = random.randrange(2**32)
    result = await workers_killed_while_catching_up(
        database_url, tmp_path, events=15_000, kills=3, batch_size=200, seed=seed
    )
    assert result.violations() == []
    assert result.kill_rounds == 3
    assert result.read_models.parked == 0
    assert result.read_models.lowest_checkpoint == result.read_models.head
    assert all(rows > 0 for rows in result.read_models.rows.values()), result.read_models
