"""A provider retry storm: the same N deliveries sent 20 times each, shuffled and concurrent, end
as exactly N events; every answer is 200 (N accepted, 19N duplicate) and /metrics agrees.

The long version (N=1000) runs through ``python -m tests.reliability``.
"""

from __future__ import annotations

import httpx

from tests.support.retry_storm import retry_storm


async def test_retry_storm_stores_each_delivery_exactly_once(
    client: httpx.AsyncClient, database_url: str
) -> None:
    result = await retry_storm(
        str(client.base_url), database_url, n=200, repetitions=20, concurrency=64
    )
    assert result.violations() == []
    assert result.stored_rows == 200
    assert result.outcomes["duplicate"] == 19 * 200
    assert result.duplicates_metric == 19 * 200
