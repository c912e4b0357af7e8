"""The subscriptions projection's batch step: one row per (provider, subscription id), with the
email resolved through the customer (also when the customer's email arrives later)."""

from __future__ import annotations

from collections.abc import Sequence

from domain.facts import Fact, IdentitySeen, OrderObserved
from projections.customers import customer_emails, fold_identities
from projections.db_types import Conn
from projections.sources import CUSTOMER_PROVIDERS, fold_sources
from projections.store import upsert_rows
from projections.subscriptions import Subscription, customer_of, derive_subscription

NAME = "subscriptions"
_COLUMNS = Subscription.__struct_fields__  # the row columns, in order


def relevant(fact: Fact) -> bool:
    kind = type(fact)
    if kind is IdentitySeen:
        return fact.provider in CUSTOMER_PROVIDERS
    return kind is not OrderObserved


async def apply(conn: Conn, schema: str, facts: Sequence[Fact]) -> None:
    identities = await fold_identities(conn, schema, facts, CUSTOMER_PROVIDERS)
    sources = await fold_sources(conn, schema, facts, identities.email_changed(), with_orders=False)
    wanted = set()
    for (provider, _), history in sources.subscriptions.items():
        customer = customer_of(history)
        if customer:
            wanted.add((provider, customer))
    emails = await customer_emails(conn, schema, identities.after, wanted)
    by_provider: dict[str, dict[str, str | None]] = {}
    for (provider, customer), email in emails.items():
        by_provider.setdefault(provider, {})[customer] = email
    rows = []
    for (provider, sub_id), history in sorted(sources.subscriptions.items()):
        sub = derive_subscription(provider, sub_id, history, by_provider.get(provider, {}))
        if sub.status is None or sub.updated_at is None:
            continue  # only linked or paid so far: published once its state is known
        rows.append(sub.row())
    await upsert_rows(conn, schema, NAME, ("provider", "subscription_id"), _COLUMNS, rows)
