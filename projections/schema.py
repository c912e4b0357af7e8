"""Tables of each projection generation, and the public views that point at the live one.

Each projection writes into its own schema per generation (``hl_<name>_g<N>``, or
``hl_<name>_asof_<stamp>`` for point-in-time builds). The public names (``user_profiles``,
``subscriptions``, ``product_access``) are views over the active generation, so a rebuild fills a
fresh generation while the old one keeps serving, and a swap is one CREATE OR REPLACE VIEW inside
the transaction that also moves the active generation.
"""

from __future__ import annotations

PROJECTIONS = ("user_profiles", "subscriptions", "product_access")

_IDENTITIES = """
CREATE TABLE {s}.identities (
    provider text NOT NULL,
    identity_id text NOT NULL,
    email text,
    state bytea NOT NULL,
    PRIMARY KEY (provider, identity_id)
);
CREATE INDEX ON {s}.identities (email);
"""

_SUBSCRIPTION_SOURCES = """
CREATE TABLE {s}.subscription_sources (
    provider text NOT NULL,
    subscription_id text NOT NULL,
    customer_id text,
    history bytea NOT NULL,
    PRIMARY KEY (provider, subscription_id)
);
CREATE INDEX ON {s}.subscription_sources (provider, customer_id);
"""

_TABLES = {
    "user_profiles": _IDENTITIES
    + """
CREATE TABLE {s}.user_profiles (
    email text PRIMARY KEY,
    name text,
    identities jsonb NOT NULL,
    first_seen timestamptz NOT NULL,
    last_updated timestamptz NOT NULL,
    deleted boolean NOT NULL
);
""",
    "subscriptions": _IDENTITIES
    + _SUBSCRIPTION_SOURCES
    + """
CREATE TABLE {s}.subscriptions (
    provider text NOT NULL,
    subscription_id text NOT NULL,
    customer_id text,
    email text,
    status text NOT NULL,
    products text[] NOT NULL,
    current_period_end timestamptz,
    cancel_at_period_end boolean NOT NULL,
    last_payment_succeeded boolean,
    last_payment_at timestamptz,
    updated_at timestamptz NOT NULL,
    first_seen timestamptz NOT NULL,
    PRIMARY KEY (provider, subscription_id)
);
CREATE INDEX ON {s}.subscriptions (email);
CREATE INDEX ON {s}.subscriptions (status, provider, subscription_id);
""",
    "product_access": _IDENTITIES
    + _SUBSCRIPTION_SOURCES
    + """
CREATE TABLE {s}.order_sources (
    provider text NOT NULL,
    order_id text NOT NULL,
    customer_id text,
    history bytea NOT NULL,
    PRIMARY KEY (provider, order_id)
);
CREATE INDEX ON {s}.order_sources (provider, customer_id);
CREATE TABLE {s}.access_sources (
    source text NOT NULL,
    kind text NOT NULL,
    email text,
    grants bytea NOT NULL,
    PRIMARY KEY (kind, source)
);
CREATE INDEX ON {s}.access_sources (email);
CREATE TABLE {s}.product_access (
    email text NOT NULL,
    product text NOT NULL,
    active boolean NOT NULL,
    granted_at timestamptz NOT NULL,
    revoked_at timestamptz,
    subscriptions text[] NOT NULL,
    orders text[] NOT NULL,
    PRIMARY KEY (email, product)
);
CREATE INDEX ON {s}.product_access (product, email);
""",
}

# Public columns: the documented contract, in view order.
PUBLIC_COLUMNS = {
    "user_profiles": "email, name, identities, first_seen, last_updated, deleted",
    "subscriptions": "provider, subscription_id, customer_id, email, status, products,"
    " current_period_end, cancel_at_period_end, last_payment_succeeded, last_payment_at,"
    " updated_at, first_seen",
    "product_access": "email, product, active, granted_at, revoked_at, subscriptions, orders",
}


def schema_name(projection: str, generation: int) -> str:
    return f"hl_{projection}_g{generation}"


def create_generation_sql(projection: str, schema: str) -> str:
    return f'CREATE SCHEMA "{schema}";' + _TABLES[projection].format(s=f'"{schema}"')


def point_view_sql(projection: str, schema: str) -> str:
    cols = PUBLIC_COLUMNS[projection]
    return (
        f'CREATE OR REPLACE VIEW public.{projection} AS SELECT {cols} FROM "{schema}".{projection}'
    )
