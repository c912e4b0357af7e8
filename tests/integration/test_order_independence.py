"""For any permutation of the same events — split into any batches, with duplicates — every read
model ends identical. The real batch steps run against PostgreSQL, one fresh schema per example."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.facts import Fact
from domain.log_record import LoggedEvent
from domain.mapping import facts_for
from projections.generations import create_generation
from projections.registry import SPECS
from projections.schema import PROJECTIONS
from tests.support.log_writer import to_new_event
from tests.support.read_models import catalog, snapshot
from tests.support.scenarios import Delivery, generate, stripe_event, stripe_subscription

_counter = itertools.count()


def email_change_story() -> list[Delivery]:
    """A customer who upgrades from pro to team and then changes email."""
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    cus, sub = "cus_mover", "sub_mover"
    end = t0 + timedelta(days=30)
    return [
        stripe_event("evt_mv1", "customer.created", t0, {"id": cus, "email": "old@example.com"}),
        stripe_event(
            "evt_mv2",
            "customer.subscription.created",
            t0 + timedelta(minutes=1),
            stripe_subscription(sub, cus, "active", "price_pro_m", "prod_pro", end),
        ),
        stripe_event(
            "evt_mv3",
            "customer.subscription.updated",
            t0 + timedelta(days=3),
            stripe_subscription(sub, cus, "active", "price_team_m", "prod_team", end),
        ),
        stripe_event(
            "evt_mv4",
            "customer.updated",
            t0 + timedelta(days=5),
            {"id": cus, "email": "New@Example.com ", "name": "Mover"},
        ),
    ]


def fact_batches() -> list[list[Fact]]:
    """One fact list per event, for a small but varied population."""
    deliveries = generate(8, seed=11) + email_change_story()
    cat = catalog()
    out = []
    for position, delivery in enumerate(deliveries, start=1):
        row = to_new_event(delivery)
        event = LoggedEvent(
            position=position,
            provider=row.provider,
            event_id=row.event_id,
            event_type=row.event_type,
            occurred_at=row.occurred_at,
            received_at=row.received_at,
            body=delivery.body,
        )
        out.append(facts_for(event, cat))
    return out


EVENTS = fact_batches()


async def build(
    conn: asyncpg.Connection[asyncpg.Record], order: list[int], cuts: list[int]
) -> dict[str, list[tuple[object, ...]]]:
    """Apply events in ``order``, committing a batch at each cut; returns every read model."""
    result = {}
    run = next(_counter)
    for name in PROJECTIONS:
        spec = SPECS[name]
        schema = f"perm_{run}_{name}"
        await create_generation(conn, name, schema)
        bounds = [0, *sorted(set(cuts)), len(order)]
        for start, stop in itertools.pairwise(bounds):
            facts = [f for i in order[start:stop] for f in EVENTS[i] if spec.relevant(f)]
            async with conn.transaction():
                await spec.apply(conn, schema, facts)
        result[name] = await snapshot(conn, name, schema)
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return result


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection[asyncpg.Record]]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def test_canonical_build_has_the_expected_story(
    conn: asyncpg.Connection[asyncpg.Record],
) -> None:
    models = await build(conn, list(range(len(EVENTS))), [])
    subs = {r[1]: r for r in models["subscriptions"]}
    assert subs["sub_mover"][3] == "new@example.com"  # the customer's latest email
    assert subs["sub_mover"][5] == ["team"]
    access = {(r[0], r[1]): r for r in models["product_access"]}
    assert access[("new@example.com", "team")][2] is True
    assert access[("new@example.com", "pro")][2] is False  # upgraded away from pro
    assert ("old@example.com", "team") not in access  # moved with the email
    assert len(models["user_profiles"]) > 8


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_any_permutation_batching_and_duplication_gives_the_same_read_models(
    conn: asyncpg.Connection[asyncpg.Record], data: st.DataObject
) -> None:
    n = len(EVENTS)
    canonical = await build(conn, list(range(n)), [])
    order = data.draw(st.permutations(range(n)), label="order")
    duplicates = data.draw(st.lists(st.integers(0, n - 1), max_size=20), label="redelivered")
    order = [*order, *duplicates]
    position = data.draw(st.permutations(range(len(order))), label="interleave")
    order = [order[i] for i in position]
    cuts = data.draw(st.lists(st.integers(0, len(order)), max_size=8), label="cuts")
    assert await build(conn, order, cuts) == canonical
