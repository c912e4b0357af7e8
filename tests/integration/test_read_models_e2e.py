"""Signed deliveries through the HTTP API, projected by a running worker, read back over the API
exactly as an analyst would; plus the API's token rules and the analysts' database role."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from app.settings import Settings
from projections.worker import WorkerConfig, run_worker
from tests.support import signing
from tests.support.read_models import catalog, log_head, wait_for_checkpoints
from tests.support.scenarios import Delivery, ls_event, stripe_event, stripe_subscription
from tests.support.server import running_server

TOKEN = "test-api-token-4f1c"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def alice() -> list[Delivery]:
    period_end = datetime(2026, 12, 1, tzinfo=UTC)
    sub = stripe_subscription("sub_1", "cus_1", "active", "price_pro_m", "prod_pro", period_end)
    at = [T0 + timedelta(minutes=m) for m in range(10)]
    slack = {
        "type": "event_callback",
        "event_id": "EvA1",
        "event_time": int(at[5].timestamp()),
        "event": {
            "type": "team_join",
            "user": {"id": "U1", "real_name": "Alice S", "profile": {"email": "alice@example.com"}},
        },
    }
    framer = {
        "type": "user.created",
        "timestamp": at[6].isoformat(),
        "data": {"id": "usr_1", "email": "Alice@Example.com", "name": "Alice"},
    }
    return [
        stripe_event(
            "evt_a1",
            "customer.created",
            at[0],
            {"id": "cus_1", "email": "alice@example.com", "name": "Alice"},
        ),
        stripe_event(
            "evt_a2",
            "checkout.session.completed",
            at[1],
            {
                "id": "cs_1",
                "customer": "cus_1",
                "subscription": "sub_1",
                "mode": "subscription",
                "customer_details": {"email": "alice@example.com"},
            },
        ),
        stripe_event("evt_a3", "customer.subscription.created", at[2], sub),
        stripe_event(
            "evt_a4",
            "invoice.paid",
            at[3],
            {"id": "in_1", "customer": "cus_1", "subscription": "sub_1"},
        ),
        ls_event(
            "order_created",
            "orders",
            "9001",
            {
                "customer_id": 77,
                "user_email": "alice@example.com",
                "user_name": "Alice L",
                "status": "paid",
                "refunded": False,
                "first_order_item": {"product_id": 4500, "variant_id": 4521},
                "created_at": at[4].isoformat(),
                "updated_at": at[4].isoformat(),
            },
        ),
        Delivery("slack", "EvA1", "team_join", json.dumps(slack).encode()),
        Delivery("framerauth", "msg_a1", "user.created", json.dumps(framer).encode()),
    ]


def signed(d: Delivery) -> tuple[str, dict[str, str]]:
    if d.provider == "stripe":
        return "/webhooks/stripe", signing.stripe_headers(d.body)
    if d.provider == "lemonsqueezy":
        return "/webhooks/lemonsqueezy", signing.lemonsqueezy_headers(d.body, d.event_type)
    if d.provider == "slack":
        return "/webhooks/slack", signing.slack_headers(d.body)
    return "/webhooks/framerauth", signing.framerauth_headers(d.body, d.event_id)


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    env = {**signing.ALL_SECRETS_ENV, "DATABASE_URL": database_url, "API_TOKEN": TOKEN}
    stop = asyncio.Event()
    config = WorkerConfig(database_url=database_url, catalog=catalog(), poll_seconds=0.2)
    worker = asyncio.create_task(run_worker(config, stop))
    async with (
        running_server(Settings.from_env(env)) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        yield http
    stop.set()
    await worker


async def test_shuffled_duplicated_deliveries_end_in_the_expected_read_models(
    api: httpx.AsyncClient, database_url: str
) -> None:
    deliveries = alice()
    sends = deliveries + deliveries[:3]
    random.Random(5).shuffle(sends)
    for d in sends:
        path, headers = signed(d)
        response = await api.post(path, content=d.body, headers=headers)
        assert response.status_code == 200, response.text
    conn = await asyncpg.connect(database_url)
    try:
        await wait_for_checkpoints(conn, await log_head(conn))
    finally:
        await conn.close()

    auth = {"Authorization": f"Bearer {TOKEN}"}
    user = (await api.get("/api/users/ALICE@example.com", headers=auth)).json()
    assert user["email"] == "alice@example.com"
    assert user["name"] == "Alice"  # FramerAuth's is the latest named identity
    assert user["deleted"] is False
    assert user["identities"] == {
        "framerauth": ["usr_1"],
        "lemonsqueezy": ["77"],
        "slack": ["U1"],
        "stripe": ["cus_1"],
    }
    [sub] = user["subscriptions"]
    assert sub["provider"] == "stripe"
    assert sub["subscription_id"] == "sub_1"
    assert sub["status"] == "active"
    assert sub["products"] == ["pro"]
    assert sub["current_period_end"] == "2026-12-01T00:00:00Z"
    assert sub["cancel_at_period_end"] is False
    assert sub["last_payment_succeeded"] is True
    access = {a["product"]: a for a in user["access"]}
    assert set(access) == {"pro", "course"}
    assert access["pro"]["active"] is True
    assert access["pro"]["subscriptions"] == ["stripe:sub_1"]
    assert access["pro"]["granted_at"] == "2026-11-01T00:02:00Z"
    assert access["pro"]["revoked_at"] is None
    assert access["course"]["orders"] == ["lemonsqueezy:9001"]

    page = (await api.get("/api/subscriptions", params={"product": "pro"}, headers=auth)).json()
    assert [s["subscription_id"] for s in page["items"]] == ["sub_1"]
    assert page["next_cursor"] is None
    rows = (await api.get("/api/access", params={"active": "true"}, headers=auth)).json()
    assert len(rows["items"]) == 2
    status = (await api.get("/api/projections", headers=auth)).json()
    assert {s["name"] for s in status} == {"user_profiles", "subscriptions", "product_access"}
    assert all(s["lag_events"] == 0 and s["running"] for s in status)
    assert (await api.get("/api/users/nobody@example.com", headers=auth)).status_code == 404


async def test_subscriptions_are_paged_with_a_cursor(
    api: httpx.AsyncClient, database_url: str
) -> None:
    end = datetime(2026, 12, 1, tzinfo=UTC)
    for n in range(5):
        obj = stripe_subscription(
            f"sub_p{n}", f"cus_p{n}", "active", "price_pro_m", "prod_pro", end
        )
        d = stripe_event(f"evt_p{n}", "customer.subscription.created", T0, obj)
        path, headers = signed(d)
        assert (await api.post(path, content=d.body, headers=headers)).status_code == 200
    conn = await asyncpg.connect(database_url)
    try:
        await wait_for_checkpoints(conn, await log_head(conn))
    finally:
        await conn.close()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/api/subscriptions", params=params, headers=auth)).json()
        seen += [s["subscription_id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"sub_p{n}" for n in range(5)]
    bad = await api.get("/api/subscriptions", params={"cursor": "not-a-cursor"}, headers=auth)
    assert bad.status_code == 400


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"],
)
async def test_api_needs_the_right_bearer_token(api: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    for path in ("/api/projections", "/api/users/a@b.c", "/api/subscriptions", "/api/access"):
        response = await api.get(path, headers=headers)
        assert response.status_code == 401, (path, header)
        assert TOKEN not in response.text


async def test_api_is_closed_without_api_token(database_url: str) -> None:
    env = {**signing.ALL_SECRETS_ENV, "DATABASE_URL": database_url}
    async with (
        running_server(Settings.from_env(env)) as base_url,
        httpx.AsyncClient(base_url=base_url) as http,
    ):
        response = await http.get("/api/projections", headers={"Authorization": "Bearer x"})
    assert response.status_code == 401
    assert "API_TOKEN" in response.json()["detail"]


async def test_sql_metacharacters_in_queries_change_nothing(
    api: httpx.AsyncClient, database_url: str
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for value in ["x' OR '1'='1", "'; DROP TABLE hookledger_events; --", "%", "\\"]:
        for path, params in [
            ("/api/subscriptions", {"status": value, "provider": value, "product": value}),
            ("/api/access", {"email": value, "product": value}),
        ]:
            response = await api.get(path, params=params, headers=auth)
            assert response.status_code == 200
            assert response.json()["items"] == []
        assert (await api.get(f"/api/users/{value}", headers=auth)).status_code in (404, 400)
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('hookledger_events') IS NOT NULL")
    finally:
        await conn.close()


async def test_analyst_role_reads_read_models_and_log_view_only(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    login = f"analyst_{random.randrange(10**9)}"
    try:
        await conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE hookledger_analyst")
        await conn.execute(f"SET ROLE {login}")
        for view in ("user_profiles", "subscriptions", "product_access", "webhook_events"):
            await conn.fetch(f"SELECT * FROM {view} LIMIT 1")
        for forbidden in (
            "SELECT * FROM hookledger_events",
            "SELECT * FROM hookledger_parked",
            "SELECT * FROM hl_subscriptions_g1.subscription_sources",
            "INSERT INTO hl_subscriptions_g1.subscriptions (provider) VALUES ('x')",
            "DELETE FROM subscriptions",
            "CREATE TABLE public.analyst_scratch (x int)",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(forbidden)
    finally:
        await conn.execute("RESET ROLE")
        await conn.execute(f"DROP ROLE {login}")
        await conn.close()
