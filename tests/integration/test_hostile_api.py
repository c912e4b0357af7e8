"""The read API and operator endpoints under hostile use: missing, wrong and empty tokens on every
``/api`` route the OpenAPI document lists, SQL metacharacters and NUL in parameters, and the
analysts' database role. (The happy paths and the basic token rules are in
test_read_models_e2e.py.)"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from app.settings import Settings
from tests.support import signing
from tests.support.raw_http import build_request, raw_request
from tests.support.server import running_server

API_TOKEN = "hostile-test-api-token-1f0e"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    env = {**signing.ALL_SECRETS_ENV, "DATABASE_URL": database_url, "API_TOKEN": API_TOKEN}
    async with (
        running_server(Settings.from_env(env)) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10) as http,
    ):
        yield http


async def _api_paths(http: httpx.AsyncClient) -> list[str]:
    """Every ``/api`` GET route of the app's own OpenAPI document, path parameters filled in."""
    document = (await http.get("/schema/openapi.json")).json()
    paths = [p for p, ops in document["paths"].items() if p.startswith("/api") and "get" in ops]
    assert len(paths) >= 4, paths
    return [p.replace("{email}", "a@b.c") for p in paths]


BAD_AUTH = {
    "missing": None,
    "empty": "",
    "empty-bearer": "Bearer ",
    "bearer-only": "Bearer",
    "wrong": "Bearer wrong-token",
    "prefix": f"Bearer {API_TOKEN[:-1]}",
    "longer": f"Bearer {API_TOKEN}x",
    "other-scheme": f"Basic {API_TOKEN}",
    "token-without-scheme": API_TOKEN,
    "non-ascii": "Bearer \u00e9\u00e9",
}


@pytest.mark.parametrize("case", list(BAD_AUTH))
async def test_every_api_route_needs_the_token(api: httpx.AsyncClient, case: str) -> None:
    """Sent byte for byte (an HTTP client refuses some of these headers, e.g. a trailing space)."""
    header = BAD_AUTH[case]
    headers = [] if header is None else [("Authorization", header.encode().decode("latin-1"))]
    port = api.base_url.port
    assert port is not None
    for path in await _api_paths(api):
        answer = await raw_request(port, build_request("GET", path, headers))
        assert answer.status == 401, (path, answer)
        assert API_TOKEN.encode() not in answer.body
        assert (await api.get(path, headers=AUTH)).status_code in (200, 404), path


SQL = [
    "' OR '1'='1",
    "x'; DROP TABLE hookledger_events; --",
    "\\'; SELECT pg_sleep(5); --",
    "$1",
    "%' OR email LIKE '%",
    '") OR 1=1 --',
    "1; UPDATE hookledger_projections SET active_generation = 9",
    "x' UNION SELECT * FROM hookledger_events --",
]


async def _counts(conn: asyncpg.Connection) -> tuple[int, ...]:
    return tuple(
        await conn.fetchrow(
            "SELECT (SELECT count(*) FROM hookledger_events), (SELECT count(*) FROM"
            " hookledger_projections), (SELECT count(*) FROM subscriptions),"
            " (SELECT count(*) FROM product_access), (SELECT count(*) FROM user_profiles)"
        )
        or ()
    )


@pytest.mark.parametrize("value", SQL)
async def test_sql_metacharacters_change_nothing_and_leak_nothing(
    api: httpx.AsyncClient, database_url: str, value: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        before = await _counts(conn)
        for path, params in [
            ("/api/subscriptions", {"status": value}),
            ("/api/subscriptions", {"provider": value, "product": value}),
            ("/api/access", {"email": value, "product": value}),
            ("/api/subscriptions", {"cursor": value}),
        ]:
            response = await api.get(path, params=params, headers=AUTH)
            assert response.status_code in (200, 400), response.text
            if response.status_code == 200:
                assert response.json() == {"items": [], "next_cursor": None}
            for leak in ("syntax", "SELECT", "hookledger_", "asyncpg", "Traceback", "pg_"):
                assert leak not in response.text, (params, response.text)
        user = await api.get(f"/api/users/{value}", headers=AUTH)
        assert user.status_code in (400, 404), user.text
        assert "SELECT" not in user.text
        assert await _counts(conn) == before
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "target",
    [
        "/api/users/a%00b",
        "/api/subscriptions?status=%00",
        "/api/subscriptions?provider=%00",
        "/api/subscriptions?product=%00",
        "/api/access?email=%00",
        "/api/access?product=%00",
        "/api/subscriptions?cursor=WyJcdTAwMDAiLCAieCJd",  # a cursor holding ["\u0000", "x"]
    ],
)
async def test_nul_in_read_api_parameters_is_400_or_404(
    api: httpx.AsyncClient, target: str
) -> None:
    response = await api.get(target, headers=AUTH)
    assert response.status_code in (400, 404), response.text


ANALYST_FORBIDDEN = [
    "SELECT * FROM hookledger_events",
    "SELECT * FROM hookledger_parked",
    "SELECT * FROM hookledger_checkpoints",
    "SELECT * FROM hookledger_projections",
    "SELECT * FROM hookledger_migrations",
    "SELECT * FROM hl_subscriptions_g1.subscription_sources",
    "INSERT INTO hl_subscriptions_g1.subscriptions (provider) VALUES ('x')",
    "UPDATE subscriptions SET status = 'x'",
    "DELETE FROM product_access",
    "INSERT INTO webhook_events (provider) VALUES ('x')",
    "DELETE FROM webhook_events",
    "TRUNCATE hookledger_events",
    "SELECT hookledger_append('t', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}',"
    " '{}', '{}', '{}')",
    "CREATE TABLE public.analyst_scratch (x int)",
    "CREATE SCHEMA analyst_scratch",
    "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
]


async def test_analyst_role_can_neither_write_nor_read_outside_its_views(
    database_url: str,
) -> None:
    conn = await asyncpg.connect(database_url)
    login = f"analyst_{random.randrange(10**9)}"
    try:
        await conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE hookledger_analyst")
        await conn.execute(f"SET ROLE {login}")
        for view in ("user_profiles", "subscriptions", "product_access", "webhook_events"):
            await conn.fetch(f"SELECT * FROM {view} LIMIT 1")
        for statement in ANALYST_FORBIDDEN:
            with pytest.raises(
                (asyncpg.InsufficientPrivilegeError, asyncpg.UndefinedTableError)
            ) as refused:
                await conn.execute(statement)
            if isinstance(refused.value, asyncpg.UndefinedTableError):
                # Only acceptable for a table that does not exist at all (no hidden success).
                assert "hookledger_migrations" in statement, statement
    finally:
        await conn.execute("RESET ROLE")
        await conn.execute(f"DROP ROLE {login}")
        await conn.close()
