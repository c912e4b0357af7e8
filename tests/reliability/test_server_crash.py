"""Short version of the crash scenario (long: ``make reliability``): the real ``hookledger serve``
with two web workers is SIGKILLed twice under load from a retrying provider simulator and
restarted, while a ``hookledger worker`` projects; every delivery ends in the log exactly once,
nothing acknowledged is lost, nothing forged gets in, and the read models equal a rebuild."""

from __future__ import annotations

import random
from pathlib import Path

from tests.reliability.crash import crash_under_load


async def test_sigkill_under_load_loses_nothing_and_stores_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    seed = random.randrange(2**32)
    result = await crash_under_load(
        database_url, tmp_path, deliveries=1500, kills=2, concurrency=128, seed=seed
    )
    assert result.violations() == []
    assert result.kills_done == 2
    assert result.stored_rows == result.deliveries - result.forged
    assert result.forged > 0
    assert result.forged_accepted == result.forged_stored == 0
    assert all(rows > 0 for rows in result.read_models.rows.values()), result.read_models
    assert result.read_models.differing == []
