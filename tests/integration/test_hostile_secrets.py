"""Secrets never leak (logs, answers, the OpenAPI document), and bad signatures are counted and
logged per remote address without one log line per request."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from app.settings import Settings, SettingsError
from tests.support import forgery, signing
from tests.support.event_log import count_events
from tests.support.hostile import (
    Headers,
    assert_json_error,
    stripe_body,
)
from tests.support.server import running_server

API_TOKEN = "hostile-secret-api-token-93b1d"
CONFIGURED = {**signing.ALL_SECRETS_ENV, "API_TOKEN": API_TOKEN}


def _secret_forms() -> set[str]:
    forms = set()
    for secret in CONFIGURED.values():
        forms |= {secret, secret.removeprefix("whsec_")}
    key = forgery.framerauth_key()  # the decoded HMAC key, in the forms a log could show it
    forms |= {key.hex(), key.decode("latin-1"), repr(key)[2:-1]}
    return {form for form in forms if len(form) >= 8}


async def test_secrets_never_appear_in_logs_answers_or_openapi(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    settings = Settings.from_env({**CONFIGURED, "DATABASE_URL": database_url})
    seen: list[str] = [repr(settings), str(settings)]
    for name, bad in [("FRAMERAUTH_WEBHOOK_SECRET", "whsec_!" + signing.FRAMERAUTH_SECRET[6:])]:
        with pytest.raises(SettingsError) as refused:
            Settings.from_env({**CONFIGURED, name: f"{bad},{signing.FRAMERAUTH_SECRET}"})
        seen.append(str(refused.value))
    body = forgery.universal_body("evt_secret")
    deep = b'{"id": "e", "type": "t", "d": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    sends: list[tuple[str, bytes, Headers]] = [
        ("stripe", body, signing.stripe_headers(body)),
        ("stripe", body, signing.stripe_headers(body)),
        ("stripe", body, forgery.stripe_headers(body, secret="whsec_wrong")),
        ("stripe", body + b" ", signing.stripe_headers(body)),
        ("stripe", body, signing.stripe_headers(body, at=1)),
        ("stripe", b"not json", signing.stripe_headers(b"not json")),
        ("stripe", deep, forgery.stripe_headers(deep)),
        ("slack", body, signing.slack_headers(body)),
        ("slack", body, signing.slack_headers(body, secret="nope")),
        ("lemonsqueezy", body, signing.lemonsqueezy_headers(body, "order_created")),
        ("lemonsqueezy", body, {"X-Signature": "zz"}),
        ("framerauth", body, signing.framerauth_headers(body, "msg_s")),
        ("framerauth", body, {"webhook-id": "m", "webhook-timestamp": "x"}),
        ("paypal", body, {}),
    ]
    async with (
        running_server(settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        for route, content, headers in sends:
            response = await http.post(f"/webhooks/{route}", content=content, headers=headers)
            seen.append(f"{response.status_code} {response.headers} {response.text}")
        for path in ("/schema/openapi.json", "/health", "/ready", "/metrics", "/nope"):
            response = await http.get(path)
            seen.append(f"{response.status_code} {response.headers} {response.text}")
        for token in ("x", "wrong", API_TOKEN[:-1], API_TOKEN):
            response = await http.get(
                "/api/projections", headers={"Authorization": f"Bearer {token}"}
            )
            seen.append(f"{response.status_code} {response.headers} {response.text}")
        openapi = await http.get("/schema/openapi.json")
        assert openapi.status_code == 200
        assert openapi.json()["paths"]
    seen.append(caplog.text)
    seen.extend(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    assert any("rejected delivery" in r.getMessage() for r in caplog.records)
    text = "\n".join(seen)
    leaked = [form[:6] + "…" for form in _secret_forms() if form in text]
    assert not leaked, f"secret material found in logs or answers: {leaked}"


async def _forge(http: httpx.AsyncClient, times: int) -> None:
    body = stripe_body("evt_bad_sig")
    for _ in range(times):
        headers = forgery.stripe_headers(body, secret="whsec_attacker")
        response = await http.post("/webhooks/stripe", content=body, headers=headers)
        assert_json_error(response, 401, "invalid_signature")


async def test_repeated_bad_signatures_are_counted_and_logged_per_address(
    client: httpx.AsyncClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Every rejection is counted (/metrics by provider and reason, and per address in the
    intake); the log gets the 1st, 2nd, 4th, 8th, … rejection of each address with the running
    count, so a flood from one address is visible without one log line per request."""
    caplog.set_level(logging.WARNING, logger="hookledger")
    await _forge(client, 20)
    other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=client.base_url, transport=other) as second:
        await _forge(second, 3)
    genuine = stripe_body("evt_genuine_after_flood")
    response = await client.post(
        "/webhooks/stripe", content=genuine, headers=signing.stripe_headers(genuine)
    )
    assert response.json()["status"] == "accepted"
    metrics = (await client.get("/metrics")).text
    assert (
        'hookledger_rejected_total{provider="stripe",reason="no matching signature"} 23' in metrics
    )
    counts: dict[str, list[int]] = {}
    for record in caplog.records:
        found = _REJECTION.search(record.getMessage())
        if found and record.levelno == logging.WARNING:
            counts.setdefault(found["remote"], []).append(int(found["n"]))
    assert counts == {"127.0.0.1": [1, 2, 4, 8, 16], "127.0.0.2": [1, 2]}
    assert await count_events(database_url) == 1


_REJECTION = re.compile(
    r"rejected delivery: provider=stripe reason=no matching signature"
    r" remote=(?P<remote>\S+) rejections_from_remote=(?P<n>\d+)$"
)
