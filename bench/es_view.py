"""The ``subscriptions`` read model as an eventsourcing tracking recorder (``bench.es_projection``).

A ``PostgresTrackingRecorder`` subclass that owns three tables next to the library's tracking
table (identities, subscription histories, subscription rows) and folds one event's facts into
them in the same transaction that records the tracking position, as the library's own example
projections do. The semantics are ours, reused, not re-implemented: ``evolve_identity`` for
customers, ``add_facts`` for the order-independent subscription history and
``derive_subscription`` for the row (email through the customer, re-derived when a customer's
email changes). Only the SQL plumbing is the library's way: psycopg, one event per transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed

from domain.facts import Fact, IdentitySeen
from projections.identities import IdentityState, evolve_identity
from projections.subscriptions import SubscriptionHistory, add_facts, derive_subscription

_DDL = (
    "CREATE TABLE IF NOT EXISTS es_identities (provider text, identity_id text, email text,"
    " state bytea NOT NULL, PRIMARY KEY (provider, identity_id))",
    "CREATE TABLE IF NOT EXISTS es_subscription_sources (provider text, subscription_id text,"
    " customer_id text, history bytea NOT NULL, PRIMARY KEY (provider, subscription_id))",
    "CREATE INDEX IF NOT EXISTS es_subscription_sources_customer"
    " ON es_subscription_sources (provider, customer_id)",
    "CREATE TABLE IF NOT EXISTS es_subscriptions (provider text, subscription_id text,"
    " customer_id text, email text, status text NOT NULL, products text[] NOT NULL,"
    " current_period_end timestamptz, cancel_at_period_end boolean NOT NULL,"
    " last_payment_succeeded boolean, last_payment_at timestamptz,"
    " updated_at timestamptz NOT NULL, first_seen timestamptz NOT NULL,"
    " PRIMARY KEY (provider, subscription_id))",
)
_UPSERT_ROW = (
    "INSERT INTO es_subscriptions VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (provider, subscription_id) DO UPDATE SET customer_id = excluded.customer_id,"
    " email = excluded.email, status = excluded.status, products = excluded.products,"
    " current_period_end = excluded.current_period_end,"
    " cancel_at_period_end = excluded.cancel_at_period_end,"
    " last_payment_succeeded = excluded.last_payment_succeeded,"
    " last_payment_at = excluded.last_payment_at, updated_at = excluded.updated_at,"
    " first_seen = excluded.first_seen"
)
_encode = msgspec.msgpack.Encoder().encode
_identity = msgspec.msgpack.Decoder(IdentityState)
_history = msgspec.msgpack.Decoder(SubscriptionHistory)
Key = tuple[str, str]


class SubscriptionsView(PostgresTrackingRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sql_create_statements += [Composed([SQL(statement)]) for statement in _DDL]

    def apply(self, facts: Sequence[Fact], tracking: Tracking) -> None:
        """Fold one event's facts and record its position, in one transaction."""
        with self.datastore.transaction(commit=True) as curs:
            changed = _fold_identities(curs, [f for f in facts if isinstance(f, IdentitySeen)])
            keys = {(f.provider, f.subscription_id) for f in facts if hasattr(f, "subscription_id")}
            for provider, customer in changed:
                curs.execute(
                    "SELECT provider, subscription_id FROM es_subscription_sources"
                    " WHERE provider = %s AND customer_id = %s",
                    (provider, customer),
                )
                keys |= {(r["provider"], r["subscription_id"]) for r in curs.fetchall()}
            for key in sorted(keys):
                new = [
                    f
                    for f in facts
                    if not isinstance(f, IdentitySeen)
                    and (f.provider, getattr(f, "subscription_id", None)) == key
                ]
                _fold_subscription(curs, key, new)  # type: ignore[arg-type]
            self._insert_tracking(curs, tracking)


def _fold_identities(curs: Cursor[DictRow], seen: list[IdentitySeen]) -> set[Key]:
    """Evolve and save the identities; returns those whose email changed."""
    changed = set()
    for fact in seen:
        key = (fact.provider, fact.identity_id)
        curs.execute(
            "SELECT state FROM es_identities WHERE provider = %s AND identity_id = %s", key
        )
        row = curs.fetchone()
        before = _identity.decode(row["state"]) if row else None
        after = evolve_identity(before, fact)
        if after == before:
            continue
        curs.execute(
            "INSERT INTO es_identities VALUES (%s, %s, %s, %s) ON CONFLICT (provider, identity_id)"
            " DO UPDATE SET email = excluded.email, state = excluded.state",
            (*key, after.email, _encode(after)),
        )
        if (before.email if before else None) != after.email:
            changed.add(key)
    return changed


def _fold_subscription(curs: Cursor[DictRow], key: Key, new: SubscriptionHistory) -> None:
    curs.execute(
        "SELECT history FROM es_subscription_sources WHERE provider = %s AND subscription_id = %s",
        key,
    )
    row = curs.fetchone()
    old = _history.decode(row["history"]) if row else ()
    history = add_facts(old, new)
    if not history:
        return
    sub = derive_subscription(key[0], key[1], history, {})
    if history is not old:
        curs.execute(
            "INSERT INTO es_subscription_sources VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (provider, subscription_id)"
            " DO UPDATE SET customer_id = excluded.customer_id, history = excluded.history",
            (*key, sub.customer_id, _encode(history)),
        )
    emails: dict[str, str | None] = {}
    if sub.customer_id:
        curs.execute(
            "SELECT email FROM es_identities WHERE provider = %s AND identity_id = %s",
            (key[0], sub.customer_id),
        )
        found = curs.fetchone()
        emails[sub.customer_id] = found["email"] if found else None
        sub = derive_subscription(key[0], key[1], history, emails)
    if sub.status is None or sub.updated_at is None:
        return
    curs.execute(_UPSERT_ROW, sub.row())
