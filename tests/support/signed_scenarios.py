"""The realistic deliveries of tests/support/scenarios.py, signed the way each provider signs them
(tests/support/signing.py, the providers' own SDKs), ready for the provider simulator.

Each delivery carries the key the log will store it under, computed with the provider's own
``parse``. A ``forged_share`` of extra Stripe deliveries, with keys of their own and signed with a
wrong secret, is mixed in at random places: the log must never hold one of them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping

from domain.providers.base import Envelope
from domain.providers.registry import resolve
from tests.support import signing
from tests.support.provider_sim import Delivery
from tests.support.scenarios import Delivery as Plain
from tests.support.scenarios import generate


def _headers(d: Plain) -> dict[str, str]:
    if d.provider == "stripe":
        return signing.stripe_headers(d.body)
    if d.provider == "lemonsqueezy":
        return signing.lemonsqueezy_headers(d.body, d.event_type)
    if d.provider == "slack":
        return signing.slack_headers(d.body)
    assert d.provider == "framerauth", d.provider
    return signing.framerauth_headers(d.body, d.event_id)


def _stored_event_id(provider: str, body: bytes, headers: Mapping[str, str]) -> str:
    adapter = resolve(provider)
    assert adapter is not None
    envelope = adapter.parse(body, {k.lower(): v for k, v in headers.items()})
    assert isinstance(envelope, Envelope)
    return envelope.event_id


def sign(d: Plain) -> Delivery:
    headers = _headers(d)
    event_id = _stored_event_id(d.provider, d.body, headers)
    return Delivery(event_id, d.body, headers, path=f"/webhooks/{d.provider}", provider=d.provider)


def forged(n: int, run: str) -> Delivery:
    event_id = f"evt_forged_{run}_{n:07d}"
    body = json.dumps({"id": event_id, "object": "event", "type": "invoice.paid"}).encode()
    headers = signing.stripe_headers(body, secret="whsec_forged_by_someone_else")
    return Delivery(event_id, body, headers, forged=True)


def signed_deliveries(
    at_least: int, *, forged_share: float = 0.0, seed: int = 0, first_customer: int = 0
) -> list[Delivery]:
    """At least ``at_least`` genuine deliveries (whole customer journeys) plus forged ones."""
    customers = max(1, at_least // 12)
    plain = generate(customers, seed=seed, first=first_customer)
    while len(plain) < at_least:
        more = generate(
            customers // 4 + 1, seed=seed + len(plain), first=first_customer + customers
        )
        customers += customers // 4 + 1
        plain += more
    out = [sign(d) for d in plain]
    rng = random.Random(seed)
    fakes = [forged(n, str(seed)) for n in range(int(len(out) * forged_share))]
    for fake in fakes:
        out.insert(rng.randrange(len(out) + 1), fake)
    return out
