"""SQL for the projections' internal state tables: load by key, save, look up by email/customer.

Every function runs on the connection of the caller's transaction; nothing here commits. States are
stored as msgpack bytes (msgspec) next to the columns used to find them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from domain.facts import OrderObserved
from projections.db_types import Conn
from projections.identities import IdentityState
from projections.product_access import Grant, OrderHistory
from projections.subscriptions import SubscriptionHistory, customer_of

Key = tuple[str, str]

_encode = msgspec.msgpack.Encoder().encode
_identity = msgspec.msgpack.Decoder(IdentityState)
_sub_history = msgspec.msgpack.Decoder(SubscriptionHistory)
_order_history = msgspec.msgpack.Decoder(OrderHistory)
_grants = msgspec.msgpack.Decoder(tuple[Grant, ...])


def _split(keys: Iterable[Key]) -> tuple[list[str], list[str]]:
    keys = list(keys)
    return [k[0] for k in keys], [k[1] for k in keys]


async def load_identities(conn: Conn, schema: str, keys: Iterable[Key]) -> dict[Key, IdentityState]:
    providers, ids = _split(keys)
    if not ids:
        return {}
    rows = await conn.fetch(
        f'SELECT provider, identity_id, state FROM "{schema}".identities'
        " WHERE (provider, identity_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        providers,
        ids,
    )
    return {(r[0], r[1]): _identity.decode(r[2]) for r in rows}


async def identities_with_emails(
    conn: Conn, schema: str, emails: Iterable[str]
) -> list[IdentityState]:
    rows = await conn.fetch(
        f'SELECT state FROM "{schema}".identities WHERE email = ANY($1::text[])', list(emails)
    )
    return [_identity.decode(r[0]) for r in rows]


async def save_identities(conn: Conn, schema: str, states: Iterable[IdentityState]) -> None:
    states = list(states)
    if not states:
        return
    await conn.execute(
        f'INSERT INTO "{schema}".identities (provider, identity_id, email, state)'
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[])"
        " ON CONFLICT (provider, identity_id) DO UPDATE"
        " SET email = excluded.email, state = excluded.state",
        [s.provider for s in states],
        [s.identity_id for s in states],
        [s.email for s in states],
        [_encode(s) for s in states],
    )


async def load_histories(
    conn: Conn, schema: str, table: str, id_column: str, keys: Iterable[Key]
) -> dict[Key, bytes]:
    """Raw history bytes by key, from ``subscription_sources`` or ``order_sources``."""
    providers, ids = _split(keys)
    if not ids:
        return {}
    rows = await conn.fetch(
        f'SELECT provider, {id_column}, history FROM "{schema}".{table}'
        f" WHERE (provider, {id_column}) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        providers,
        ids,
    )
    return {(r[0], r[1]): r[2] for r in rows}


async def keys_by_customer(
    conn: Conn, schema: str, table: str, id_column: str, customers: Iterable[Key]
) -> set[Key]:
    providers, ids = _split(customers)
    if not ids:
        return set()
    rows = await conn.fetch(
        f'SELECT provider, {id_column} FROM "{schema}".{table}'
        " WHERE (provider, customer_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        providers,
        ids,
    )
    return {(r[0], r[1]) for r in rows}


def decode_subscription_history(raw: bytes) -> SubscriptionHistory:
    return _sub_history.decode(raw)


def decode_order_history(raw: bytes) -> OrderHistory:
    return _order_history.decode(raw)


def decode_grants(raw: bytes) -> tuple[Grant, ...]:
    return _grants.decode(raw)


async def save_subscription_histories(
    conn: Conn, schema: str, histories: dict[Key, SubscriptionHistory]
) -> None:
    await _save_histories(
        conn,
        schema,
        "subscription_sources",
        "subscription_id",
        {k: (customer_of(h), _encode(h)) for k, h in histories.items()},
    )


async def save_order_histories(conn: Conn, schema: str, histories: dict[Key, OrderHistory]) -> None:
    await _save_histories(
        conn,
        schema,
        "order_sources",
        "order_id",
        {k: (_order_customer(h), _encode(h)) for k, h in histories.items()},
    )


def _order_customer(history: tuple[OrderObserved, ...]) -> str | None:
    ids = [e.customer_id for e in history if e.customer_id]
    return ids[-1] if ids else None


async def _save_histories(
    conn: Conn,
    schema: str,
    table: str,
    id_column: str,
    rows: dict[Key, tuple[str | None, bytes]],
) -> None:
    if not rows:
        return
    await conn.execute(
        f'INSERT INTO "{schema}".{table} (provider, {id_column}, customer_id, history)'
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[])"
        f" ON CONFLICT (provider, {id_column}) DO UPDATE"
        " SET customer_id = excluded.customer_id, history = excluded.history",
        [k[0] for k in rows],
        [k[1] for k in rows],
        [v[0] for v in rows.values()],
        [v[1] for v in rows.values()],
    )


async def upsert_rows(
    conn: Conn,
    schema: str,
    table: str,
    key_columns: tuple[str, ...],
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
) -> None:
    """Replace whole rows of a read-model table (idempotent: same input, same row).

    ``executemany`` rather than ``unnest``: array columns (``products``) cannot go through unnest.
    """
    if not rows:
        return
    params = ", ".join(f"${i + 1}" for i in range(len(columns)))
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key_columns)
    await conn.executemany(
        f'INSERT INTO "{schema}".{table} ({", ".join(columns)}) VALUES ({params})'
        f" ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}",
        rows,
    )


async def delete_rows(
    conn: Conn,
    schema: str,
    table: str,
    key_columns: tuple[str, ...],
    keys: list[tuple[Any, ...]],
) -> None:
    if not keys:
        return
    where = " AND ".join(f"{c} = ${i + 1}" for i, c in enumerate(key_columns))
    await conn.executemany(f'DELETE FROM "{schema}".{table} WHERE {where}', keys)
