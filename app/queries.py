"""Read-model queries behind the HTTP read API. Every value reaches SQL as a bind parameter."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from projections.db_types import Conn


class SubscriptionOut(msgspec.Struct):
    provider: str
    subscription_id: str
    customer_id: str | None
    email: str | None
    status: str
    products: list[str]
    current_period_end: datetime | None
    cancel_at_period_end: bool
    last_payment_succeeded: bool | None
    last_payment_at: datetime | None
    updated_at: datetime
    first_seen: datetime


class AccessOut(msgspec.Struct):
    email: str
    product: str
    active: bool
    granted_at: datetime
    revoked_at: datetime | None
    subscriptions: list[str]
    orders: list[str]


class UserOut(msgspec.Struct):
    email: str
    name: str | None
    deleted: bool
    identities: dict[str, list[str]]
    first_seen: datetime | None
    last_updated: datetime | None
    subscriptions: list[SubscriptionOut]
    access: list[AccessOut]


class Page(msgspec.Struct):
    items: list[Any]
    next_cursor: str | None


_PROVIDERS = ("stripe", "lemonsqueezy", "slack", "framerauth")


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(parts))).decode()


def decode_cursor(cursor: str, size: int) -> list[str]:
    """Raises ValueError on anything that is not a cursor this API issued."""
    try:
        parts = msgspec.json.decode(base64.urlsafe_b64decode(cursor.encode()), type=list[str])
    except (binascii.Error, msgspec.DecodeError, UnicodeEncodeError):
        raise ValueError("invalid cursor") from None
    if len(parts) != size:
        raise ValueError("invalid cursor")
    return parts


def _subs(rows: list[asyncpg.Record]) -> list[SubscriptionOut]:
    return [SubscriptionOut(**{**dict(r), "products": list(r["products"])}) for r in rows]


def _access(rows: list[asyncpg.Record]) -> list[AccessOut]:
    return [
        AccessOut(
            **{**dict(r), "subscriptions": list(r["subscriptions"]), "orders": list(r["orders"])}
        )
        for r in rows
    ]


def _has_nul(values: Sequence[object]) -> bool:
    return any(isinstance(v, str) and "\x00" in v for v in values)


async def user(conn: Conn, email: str) -> UserOut | None:
    email = email.strip().lower()
    if "\x00" in email:  # PostgreSQL text cannot hold NUL: no stored email has one
        return None
    profile = await conn.fetchrow("SELECT * FROM user_profiles WHERE email = $1", email)
    subs = _subs(
        await conn.fetch(
            "SELECT * FROM subscriptions WHERE email = $1 ORDER BY provider, subscription_id", email
        )
    )
    access = _access(
        await conn.fetch("SELECT * FROM product_access WHERE email = $1 ORDER BY product", email)
    )
    if profile is None and not subs and not access:
        return None
    identities: dict[str, list[str]] = {p: [] for p in _PROVIDERS}
    if profile is not None:
        identities.update(msgspec.json.decode(profile["identities"], type=dict[str, list[str]]))
    return UserOut(
        email=email,
        name=profile["name"] if profile else None,
        deleted=profile["deleted"] if profile else False,
        identities=identities,
        first_seen=profile["first_seen"] if profile else None,
        last_updated=profile["last_updated"] if profile else None,
        subscriptions=subs,
        access=access,
    )


async def _keyset_page(
    conn: Conn,
    sql: str,
    filters: tuple[object, ...],
    key: tuple[str, str],
    limit: int,
    cursor: str | None,
) -> tuple[list[asyncpg.Record], str | None]:
    """One page of ``sql`` (whose last three parameters are the two cursor columns and the
    limit) ordered by the two ``key`` columns, and the cursor of the next page."""
    after = decode_cursor(cursor, 2) if cursor else [None, None]
    # PostgreSQL text cannot hold NUL; sent as a parameter it fails the query (a 500), so refuse.
    if _has_nul(filters) or _has_nul(after):
        raise ValueError("query parameters must not contain NUL")
    rows = await conn.fetch(sql, *filters, after[0], after[1], limit + 1)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(page[-1][key[0]], page[-1][key[1]]) if more and page else None
    return page, next_cursor


async def subscriptions_page(
    conn: Conn,
    *,
    status: str | None,
    provider: str | None,
    product: str | None,
    limit: int,
    cursor: str | None,
) -> Page:
    rows, next_cursor = await _keyset_page(
        conn,
        "SELECT * FROM subscriptions WHERE ($1::text IS NULL OR status = $1)"
        " AND ($2::text IS NULL OR provider = $2) AND ($3::text IS NULL OR $3 = ANY(products))"
        " AND ($4::text IS NULL OR (provider, subscription_id) > ($4, $5))"
        " ORDER BY provider, subscription_id LIMIT $6",
        (status, provider, product),
        ("provider", "subscription_id"),
        limit,
        cursor,
    )
    return Page(_subs(rows), next_cursor)


async def access_page(
    conn: Conn,
    *,
    email: str | None,
    product: str | None,
    active: bool | None,
    limit: int,
    cursor: str | None,
) -> Page:
    rows, next_cursor = await _keyset_page(
        conn,
        "SELECT * FROM product_access WHERE ($1::text IS NULL OR email = $1)"
        " AND ($2::text IS NULL OR product = $2) AND ($3::boolean IS NULL OR active = $3)"
        " AND ($4::text IS NULL OR (email, product) > ($4, $5))"
        " ORDER BY email, product LIMIT $6",
        (email.strip().lower() if email else None, product, active),
        ("email", "product"),
        limit,
        cursor,
    )
    return Page(_access(rows), next_cursor)
