"""Short version of the database-outage scenario (long: ``python -m tests.reliability``): a
dedicated PostgreSQL is crashed under load for ~3 s; the service answers 503 meanwhile, recovers
by itself, and nothing acknowledged is missing."""

from __future__ import annotations

import random
from pathlib import Path

from tests.reliability.outage import database_outage


async def test_database_crash_answers_503_then_recovers_without_restart(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    result = await database_outage(tmp_path, deliveries=3000, down_seconds=3.0, seed=seed)
    assert result.violations() == []
    assert result.answers_while_down.get("503", 0) > 0
    assert result.recovery_seconds is not None
