"""The product_access projection's batch step.

Each grant source (subscription or order) is stored with its resolved email and its grants; a
``product_access`` row is re-derived for every (email, product) whose sources changed, from all
sources of that email, so a row never depends on which batch or order brought its facts.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from domain.facts import Fact, IdentitySeen, SubscriptionObserved
from projections.customers import customer_emails, fold_identities
from projections.db_types import Conn
from projections.product_access import (
    SourceGrants,
    derive_access,
    order_customer_and_email,
    order_grants,
    subscription_grants,
)
from projections.sources import CUSTOMER_PROVIDERS, fold_sources
from projections.store import Key, decode_grants, delete_rows, upsert_rows
from projections.subscriptions import customer_of, derive_subscription

NAME = "product_access"
_COLUMNS = ("email", "product", "active", "granted_at", "revoked_at", "subscriptions", "orders")
_encode = msgspec.msgpack.Encoder().encode


def relevant(fact: Fact) -> bool:
    if type(fact) is IdentitySeen:
        return fact.provider in CUSTOMER_PROVIDERS
    return True


async def apply(conn: Conn, schema: str, facts: Sequence[Fact]) -> None:
    identities = await fold_identities(conn, schema, facts, CUSTOMER_PROVIDERS)
    sources = await fold_sources(conn, schema, facts, identities.email_changed(), with_orders=True)
    wanted: set[Key] = set()
    for (provider, _), history in sources.subscriptions.items():
        if customer := customer_of(history):
            wanted.add((provider, customer))
    for (provider, _), order in sources.orders.items():
        if customer := order_customer_and_email(order)[0]:
            wanted.add((provider, customer))
    emails = await customer_emails(conn, schema, identities.after, wanted)

    derived: list[tuple[str, str | None, SourceGrants]] = []
    for (provider, sub_id), history in sources.subscriptions.items():
        customer = customer_of(history)
        per_customer = {customer: emails.get((provider, customer))} if customer else {}
        sub = derive_subscription(provider, sub_id, history, per_customer)
        states = [f for f in history if isinstance(f, SubscriptionObserved)]
        source = f"{provider}:{sub_id}"
        derived.append(
            (source, sub.email, SourceGrants(source, "subscription", subscription_grants(states)))
        )
    for (provider, order_id), order in sources.orders.items():
        order_customer, direct = order_customer_and_email(order)
        email = (emails.get((provider, order_customer)) if order_customer else None) or direct
        source = f"{provider}:{order_id}"
        derived.append((source, email, SourceGrants(source, "order", order_grants(order))))
    if not derived:
        return

    previous = await conn.fetch(
        f'SELECT kind, source, email, grants FROM "{schema}".access_sources'
        " WHERE (kind, source) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        [g.kind for _, _, g in derived],
        [g.source for _, _, g in derived],
    )
    affected: set[tuple[str, str]] = set()
    for row in previous:
        if row["email"]:
            affected |= {(row["email"], g.product) for g in decode_grants(row["grants"])}
    for _, email, grants in derived:
        if email:
            affected |= {(email, g.product) for g in grants.grants}
    await conn.execute(
        f'INSERT INTO "{schema}".access_sources (kind, source, email, grants)'
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[])"
        " ON CONFLICT (kind, source) DO UPDATE"
        " SET email = excluded.email, grants = excluded.grants",
        [g.kind for _, _, g in derived],
        [g.source for _, _, g in derived],
        [email for _, email, _ in derived],
        [_encode(g.grants) for _, _, g in derived],
    )
    if not affected:
        return
    rows = await conn.fetch(
        f'SELECT kind, source, email, grants FROM "{schema}".access_sources'
        " WHERE email = ANY($1::text[])",
        list({email for email, _ in affected}),
    )
    by_email: dict[str, list[SourceGrants]] = {}
    for row in rows:
        by_email.setdefault(row["email"], []).append(
            SourceGrants(row["source"], row["kind"], decode_grants(row["grants"]))
        )
    upserts, deletes = [], []
    for email, product in sorted(affected):
        access = derive_access(email, product, by_email.get(email, ()))
        if access is None:
            deletes.append((email, product))
            continue
        upserts.append(
            (
                access.email,
                access.product,
                access.active,
                access.granted_at,
                access.revoked_at,
                list(access.subscriptions),
                list(access.orders),
            )
        )
    await upsert_rows(conn, schema, NAME, ("email", "product"), _COLUMNS, upserts)
    await delete_rows(conn, schema, NAME, ("email", "product"), deletes)
