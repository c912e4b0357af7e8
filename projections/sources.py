"""The grant-source step shared by subscriptions and product_access: fold subscription and order
facts into their histories, and find the sources whose customer's email changed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from domain.facts import (
    Fact,
    OrderObserved,
    PaymentObserved,
    SubscriptionLinked,
    SubscriptionObserved,
)
from projections.db_types import Conn
from projections.product_access import OrderHistory
from projections.store import (
    Key,
    decode_order_history,
    decode_subscription_history,
    keys_by_customer,
    load_histories,
    save_order_histories,
    save_subscription_histories,
)
from projections.subscriptions import SubscriptionHistory, add_facts

CUSTOMER_PROVIDERS = ("stripe", "lemonsqueezy")
_SUBSCRIPTION_FACTS = (SubscriptionObserved, SubscriptionLinked, PaymentObserved)
T = TypeVar("T")


def _group(facts: Iterable[T], key: Callable[[T], Key]) -> dict[Key, list[T]]:
    groups: dict[Key, list[T]] = {}
    for fact in facts:
        groups.setdefault(key(fact), []).append(fact)
    return groups


@dataclass
class Sources:
    subscriptions: dict[Key, SubscriptionHistory] = field(default_factory=dict)
    orders: dict[Key, OrderHistory] = field(default_factory=dict)


async def fold_sources(
    conn: Conn,
    schema: str,
    facts: Sequence[Fact],
    customers_changed: set[Key],
    *,
    with_orders: bool,
) -> Sources:
    """Histories of every source touched by ``facts`` or owned by a customer in
    ``customers_changed`` (after applying the facts; the touched ones are saved)."""
    sub_facts = [f for f in facts if isinstance(f, _SUBSCRIPTION_FACTS)]
    order_facts = [f for f in facts if isinstance(f, OrderObserved)] if with_orders else []
    sub_keys = {(f.provider, f.subscription_id) for f in sub_facts}
    sub_keys |= await keys_by_customer(
        conn, schema, "subscription_sources", "subscription_id", customers_changed
    )
    raw_subs = await load_histories(
        conn, schema, "subscription_sources", "subscription_id", sub_keys
    )
    sources = Sources(
        subscriptions={k: decode_subscription_history(v) for k, v in raw_subs.items()}
    )
    touched_subs: dict[Key, SubscriptionHistory] = {}
    for key, new in _group(sub_facts, lambda f: (f.provider, f.subscription_id)).items():
        history = add_facts(sources.subscriptions.get(key, ()), new)
        sources.subscriptions[key] = touched_subs[key] = history
    await save_subscription_histories(conn, schema, touched_subs)
    if not with_orders:
        return sources

    order_keys = {(f.provider, f.order_id) for f in order_facts}
    order_keys |= await keys_by_customer(
        conn, schema, "order_sources", "order_id", customers_changed
    )
    raw_orders = await load_histories(conn, schema, "order_sources", "order_id", order_keys)
    sources.orders = {k: decode_order_history(v) for k, v in raw_orders.items()}
    touched_orders: dict[Key, OrderHistory] = {}
    for key, orders in _group(order_facts, lambda f: (f.provider, f.order_id)).items():
        updated = add_facts(sources.orders.get(key, ()), orders)
        sources.orders[key] = touched_orders[key] = updated
    await save_order_histories(conn, schema, touched_orders)
    return sources
