"""Property-based fuzzing of every route: hypothesis over raw requests, and schemathesis driven from
the app's own OpenAPI document. No 5xx (the only documented one is 503), nothing stored unsigned."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from app.settings import Settings
from tests.support import signing
from tests.support.hostile import Headers
from tests.support.threaded_server import server_in_thread

# --- property-based ---------------------------------------------------------------------------

ROUTES = ["stripe", "slack", "lemonsqueezy", "squeezy", "framerauth", "paypal", "", "STRIPE"]
SIGNATURE_HEADERS = [
    "stripe-signature",
    "x-signature",
    "x-event-name",
    "x-slack-signature",
    "x-slack-request-timestamp",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "content-type",
]
_RESERVED = {"host", "content-length", "transfer-encoding", "connection", "expect", "upgrade"}
_hex = st.text("0123456789abcdef", max_size=64)
_b64 = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=48)
_stamp = st.integers(-400, 400).map(lambda d: str(int(time.time()) + d))
_ascii = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
_value = st.one_of(
    _ascii,
    _stamp,
    st.builds(lambda t, s: f"t={t},v1={s}", _stamp, _hex),
    st.builds(lambda s: f"v0={s}", _hex),
    st.builds(lambda s: f"v1,{s}", _b64),
    _hex,
)
_name = st.one_of(
    st.sampled_from(SIGNATURE_HEADERS),
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True).filter(
        lambda n: n.lower() not in _RESERVED
    ),
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_envelope = st.fixed_dictionaries(
    {"id": st.text(max_size=12), "type": st.text(max_size=12)},
    optional={"event_id": st.text(max_size=8), "data": _json, "challenge": st.text(max_size=8)},
)
_body = st.one_of(
    st.binary(max_size=512),
    _json.map(lambda v: json.dumps(v).encode()),
    _envelope.map(lambda v: json.dumps(v).encode()),
)
_path = st.one_of(
    st.sampled_from(ROUTES).map(lambda r: f"/webhooks/{r}"),
    st.text("abcSTRIPE019-._~%!$&'()*+,;=:@/", max_size=24).map(lambda s: f"/webhooks/{s}"),
    st.sampled_from(["/health", "/ready", "/metrics", "/schema/openapi.json", "/", "/webhooks"]),
)
_method = st.sampled_from(["POST", "POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "HEAD"])


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=_method,
    path=_path,
    headers=st.lists(
        st.tuples(_name, _value.map(str.strip)), max_size=6
    ),  # h11 refuses edge spaces
    body=_body,
)
async def test_random_requests_never_5xx_and_store_nothing(
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    response = await client.request(method, path, content=body, headers=headers)
    assert response.status_code < 500, (response.status_code, response.text)
    if method == "POST" and path.startswith("/webhooks"):
        assert response.status_code >= 400, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]
    assert await db.fetchval("SELECT count(*) FROM hookledger_events") == 0


API_TOKEN = "hostile-test-api-token-1f0e"  # opens /api/* so its handlers are fuzzed too


Operation = schemathesis.APIOperation[Any, Any, Any, Any]


def _fuzz(operation: Operation, headers: Headers) -> None:
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case: schemathesis.Case[Operation]) -> None:
        response = case.call(headers=headers, timeout=10)
        case.validate_response(response, checks=[not_a_server_error])
        if case.method.upper() == "POST":
            assert response.status_code >= 400, response.text  # nothing is signed

    check()


def test_openapi_operations_never_answer_5xx(database_url: str) -> None:
    """schemathesis, driven from the app's own /schema/openapi.json: every operation, positive
    and negative cases, ``not_a_server_error``, 50 examples each. (Driven by hand:
    schemathesis' pytest loader does not run under pytest 9.)"""
    env = {**signing.ALL_SECRETS_ENV, "DATABASE_URL": database_url, "API_TOKEN": API_TOKEN}
    with server_in_thread(Settings.from_env(env)) as base_url:
        schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json", timeout=10)
        operations = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operations.append(result.ok())
        labels = {operation.label for operation in operations}
        assert {"POST /webhooks/{provider}", "GET /health", "GET /ready", "GET /metrics"} <= labels
        for operation in operations:
            _fuzz(operation, {"Authorization": f"Bearer {API_TOKEN}"})
