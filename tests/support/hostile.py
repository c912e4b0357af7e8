"""Small helpers shared by the hostile-input tests (tests/integration/test_hostile_*.py)."""

from __future__ import annotations

import json

import httpx

LIMIT = 4096
"""The body limit of the hostile tests' small service (keeps the size cases fast)."""

Headers = dict[str, str]


def stripe_body(event_id: str, **extra: object) -> bytes:
    return json.dumps({"id": event_id, "type": "invoice.paid", **extra}).encode()


def sized_body(event_id: str, size: int) -> bytes:
    head = b'{"id": "%b", "type": "invoice.paid", "pad": "' % event_id.encode()
    return head + b"a" * (size - len(head) - 2) + b'"}'


def assert_json_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()
    assert error["detail"]
    if code is not None:
        assert error["error"] == code, error


def port_of(client: httpx.AsyncClient) -> int:
    port = client.base_url.port
    assert port is not None
    return port
