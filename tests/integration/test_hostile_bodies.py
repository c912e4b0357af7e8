"""Hostile bodies and requests on the webhook route: empty, at and over the size limit (with
Content-Length, chunked, lying), invalid UTF-8, deep nesting, duplicate keys, content types and
path tricks. Every answer is exact, never a 5xx, and nothing unverified or unparseable is stored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from app.settings import Settings
from domain.log_record import raw_body
from tests.support import forgery, signing
from tests.support.event_log import count_events
from tests.support.hostile import (
    LIMIT,
    assert_json_error,
    port_of,
    sized_body,
    stripe_body,
)
from tests.support.raw_http import build_request, raw_request
from tests.support.server import running_server


@pytest.fixture
async def small(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client for a service whose body limit is LIMIT bytes (keeps the size cases fast)."""
    env = {**signing.ALL_SECRETS_ENV, "DATABASE_URL": database_url, "MAX_BODY_BYTES": str(LIMIT)}
    async with (
        running_server(Settings.from_env(env)) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10) as http,
    ):
        yield http


@pytest.mark.parametrize(
    ("signed", "status", "code"),
    [(False, 401, "invalid_signature"), (True, 400, "invalid_payload")],
    ids=["unsigned", "signed"],
)
async def test_empty_body(
    client: httpx.AsyncClient, database_url: str, signed: bool, status: int, code: str
) -> None:
    headers = forgery.stripe_headers(b"") if signed else {}
    response = await client.post("/webhooks/stripe", content=b"", headers=headers)
    assert_json_error(response, status, code)
    assert await count_events(database_url) == 0


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 1000):
        yield body[start : start + 1000]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(("size", "stored"), [(LIMIT, 1), (LIMIT + 1, 0)], ids=["at", "over"])
async def test_body_size_limit(
    small: httpx.AsyncClient, database_url: str, size: int, stored: int, chunked: bool
) -> None:
    body = sized_body("evt_size", size)
    assert len(body) == size
    headers = signing.stripe_headers(body)
    content = _chunks(body) if chunked else body
    response = await small.post("/webhooks/stripe", content=content, headers=headers)
    if chunked:
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.request.headers
    if stored:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "accepted"
    else:
        assert_json_error(response, 413, "body_too_large")
    assert await count_events(database_url) == stored


CLOSED = None  # no answer: the server waits for the rest of the body, or sees the client leave
LYING: dict[str, tuple[tuple[tuple[str, str], ...], int | None, bool, set[int | None]]] = {
    # name: (extra headers, Content-Length (-1 true, None absent), half-close, allowed answers)
    "shorter": ((), 200, False, {400, 401}),  # the rest is parsed as a broken next request
    "longer": ((), 400, False, {CLOSED}),
    "longer-then-eof": ((), 400, True, {CLOSED}),
    "longer-than-limit": ((), LIMIT + 1, False, {413}),
    # Refused by uvicorn's HTTP parser before the app sees them (a text/plain 400).
    "negative": ((("Content-Length", "-5"),), None, False, {400}),
    "two-different": ((("Content-Length", "12"),), -1, False, {400}),
    "with-chunked": ((("Transfer-Encoding", "chunked"),), -1, False, {400}),
}


@pytest.mark.parametrize("case", list(LYING))
async def test_lying_content_length_is_never_stored(
    small: httpx.AsyncClient, database_url: str, case: str
) -> None:
    """Sent on a raw socket, signed over the real body: the server may answer 400/401/413 or
    leave the request unanswered; never a 2xx, never stored, and it keeps serving."""
    extra, length, half_close, allowed = LYING[case]
    body = sized_body("evt_lying", 300)
    headers = [*signing.stripe_headers(body).items(), *extra]
    request = build_request("POST", "/webhooks/stripe", headers, body, content_length=length)
    answer = await raw_request(port_of(small), request, timeout=0.5, half_close=half_close)
    assert answer.status in allowed, answer
    if answer.status in (401, 413):
        assert json.loads(answer.body)["error"] in ("invalid_signature", "body_too_large")
    assert (await small.get("/health")).status_code == 200
    assert await count_events(database_url) == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"id": "evt_\xff\xfe", "type": "t"}', id="in-event-id"),
        pytest.param(b'{"id": "evt_\xc0\xaf", "type": "t"}', id="overlong-in-event-id"),
        pytest.param(
            b'{"id": "evt_u", "type": "t", "note": "\xff\xfe"}',
            id="in-ignored-value",
        ),
        pytest.param(
            b'{"id": "evt_u", "type": "t", "\xed\xa0\x80": 1}',
            id="surrogate-in-ignored-key",
        ),
    ],
)
async def test_invalid_utf8_is_400(
    client: httpx.AsyncClient, database_url: str, body: bytes
) -> None:
    response = await client.post(
        "/webhooks/stripe", content=body, headers=forgery.stripe_headers(body)
    )
    assert_json_error(response, 400, "invalid_payload")
    assert await count_events(database_url) == 0


DEEP = 100_000


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * DEEP, id="top-level-arrays"),
        pytest.param(b"[" * DEEP + b"]" * DEEP, id="top-level-balanced"),
        pytest.param(
            b'{"id": "evt_deep", "type": "t", "data": ' + b"[" * DEEP + b"]" * DEEP + b"}",
            id="balanced-in-ignored-field",
        ),
        pytest.param(
            b'{"id": "evt_deep", "type": "t", "data": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001,
            id="objects-in-ignored-field",
        ),
        pytest.param(
            b'{"id": "evt_deep", "type": "t", "data": ' + b"[" * DEEP,
            id="unbalanced-in-ignored-field",
        ),
    ],
)
async def test_deeply_nested_json_is_400(
    client: httpx.AsyncClient, database_url: str, body: bytes
) -> None:
    response = await client.post(
        "/webhooks/stripe", content=body, headers=forgery.stripe_headers(body)
    )
    assert response.status_code < 500, response.text
    assert_json_error(response, 400, "invalid_payload")
    assert await count_events(database_url) == 0


async def test_duplicate_json_keys_last_one_wins_everywhere(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """``{"id": A, …, "id": B}`` is keyed by B — the last occurrence, which is also what
    PostgreSQL jsonb and Python's json module keep — and the raw bytes are stored unchanged, so
    the duplicate stays visible. A later delivery whose only id is B is a duplicate of it."""
    body = b'{"id": "evt_dup_first", "type": "a.first", "id": "evt_dup_last", "type": "b.last"}'
    response = await client.post(
        "/webhooks/stripe", content=body, headers=signing.stripe_headers(body)
    )
    assert response.status_code == 200
    assert response.json()["event_id"] == "evt_dup_last"
    assert response.json()["status"] == "accepted"
    again = stripe_body("evt_dup_last")
    second = await client.post(
        "/webhooks/stripe", content=again, headers=signing.stripe_headers(again)
    )
    assert second.json()["status"] == "duplicate"
    first = stripe_body("evt_dup_first")
    third = await client.post(
        "/webhooks/stripe", content=first, headers=signing.stripe_headers(first)
    )
    assert third.json()["status"] == "accepted"
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT e.state, e.body_offset, e.event_type, w.payload->>'id' AS jsonb_id"
            " FROM hookledger_events e JOIN webhook_events w ON w.position = e.notification_id"
            " WHERE e.event_id = 'evt_dup_last'"
        )
    finally:
        await conn.close()
    assert row is not None
    assert raw_body(bytes(row["state"]), row["body_offset"]) == body
    assert row["event_type"] == "b.last"
    assert row["jsonb_id"] == "evt_dup_last"
    assert json.loads(body)["id"] == "evt_dup_last"
    assert await count_events(database_url) == 2


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "application/json; charset=latin-1",
        None,
    ],
)
async def test_content_type_does_not_matter_the_signature_does(
    client: httpx.AsyncClient, database_url: str, content_type: str | None
) -> None:
    body = stripe_body("evt_ctype", note="a=b&c=d")
    headers = forgery.stripe_headers(body)
    if content_type:
        headers["Content-Type"] = content_type
    first = await client.post("/webhooks/stripe", content=body, headers=headers)
    second = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert [first.json()["status"], second.json()["status"]] == ["accepted", "duplicate"]
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT state, body_offset FROM hookledger_events")
    finally:
        await conn.close()
    assert [raw_body(bytes(r["state"]), r["body_offset"]) for r in rows] == [body]


CANONICAL = 200
PATHS = {
    "/webhooks/stripe": CANONICAL,
    "/webhooks/stripe?x=1": CANONICAL,
    "/webhooks/stripe?provider=slack&x=%00": CANONICAL,
    "/webhooks/stripe/": CANONICAL,
    "//webhooks/stripe": CANONICAL,
    "/webhooks/%73tripe": CANONICAL,
    "/webhooks/stripe%2F": CANONICAL,
    "/webhooks/STRIPE": 404,
    "/Webhooks/stripe": 404,
    "/webhooks/stripe%00": 404,
    "/webhooks/stripe%20": 404,
    "/webhooks/stripe;x=1": 404,
    "/webhooks/%2e%2e/stripe": 404,
    "/webhooks/./stripe": 404,
    "/webhooks/slack/../stripe": 404,
    "/webhooks/stripe/..": 404,
    "/webhooks": 404,
}


@pytest.mark.parametrize("target", list(PATHS))
async def test_path_tricks(client: httpx.AsyncClient, database_url: str, target: str) -> None:
    """Sent byte for byte (no client normalisation): either exactly what the canonical path
    does, or a JSON 404 from our handler; never a 5xx."""
    body = stripe_body("evt_path")
    headers = signing.stripe_headers(body).items()
    answer = await raw_request(port_of(client), build_request("POST", target, headers, body))
    assert answer.status == PATHS[target], answer
    assert answer.headers["content-type"].startswith("application/json")
    document = json.loads(answer.body)
    if answer.status == CANONICAL:
        assert document == {
            "status": "accepted",
            "provider": "stripe",
            "event_id": "evt_path",
            "position": document["position"],
        }
        assert await count_events(database_url) == 1
    else:
        assert document["error"] in ("not_found", "unknown_provider")
        assert await count_events(database_url) == 0
