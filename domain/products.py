"""The product catalogue: which provider price, variant or product ids mean which product key.

Configured as TOML with one table per provider, mapping a provider id to a product key::

    [stripe]
    price_1PqZ = "pro"          # a price: wins over its product's mapping
    prod_Q8x = "pro"

    [lemonsqueezy]
    "4521" = "course"           # a variant or product id (Lemon Squeezy ids are numbers)

Pure: parses text it is given, never reads files.
"""

from __future__ import annotations

import tomllib

import msgspec

PRODUCT_PROVIDERS = frozenset({"stripe", "lemonsqueezy"})
"""Providers whose events carry product ids, i.e. the tables a catalogue may hold."""


class ProductCatalog(msgspec.Struct, frozen=True):
    """Per provider, a provider id (price, variant or product) → product key. Treat as read-only."""

    by_provider: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)

    @classmethod
    def empty(cls) -> ProductCatalog:
        """A catalogue that maps nothing: every product key is ``"{provider}:{id}"``."""
        return cls()

    def key_for(self, provider: str, specific_id: str | None, product_id: str | None) -> str:
        """The product key for a Stripe price / Lemon Squeezy variant (``specific_id``) of a
        product: the specific id's mapping, else the product's, else ``"{provider}:{product_id}"``
        (``"{provider}:{specific_id}"`` when there is no product id).

        Raises ValueError when both ids are None."""
        table = self.by_provider.get(provider)
        if table:
            if specific_id is not None:
                key = table.get(specific_id)
                if key is not None:
                    return key
            if product_id is not None:
                key = table.get(product_id)
                if key is not None:
                    return key
        if product_id is not None:
            return f"{provider}:{product_id}"
        if specific_id is not None:
            return f"{provider}:{specific_id}"
        raise ValueError("key_for needs a specific id or a product id")


def _type_name(value: object) -> str:
    return "table" if isinstance(value, dict) else type(value).__name__


def parse_catalog(text: str) -> ProductCatalog:
    """Parses the TOML catalogue. Raises ValueError naming the line, table or key at fault:
    malformed TOML, a top-level value that is not a table, a table for a provider without
    products (``PRODUCT_PROVIDERS``; catches typos such as ``[strpie]``), or a product key
    that is not a non-blank string."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"product catalogue is not valid TOML: {exc}") from None
    by_provider: dict[str, dict[str, str]] = {}
    for provider, table in document.items():
        if not isinstance(table, dict):
            raise ValueError(
                f"product catalogue: top-level key {provider!r} must be a provider table "
                f"such as [stripe], got a {_type_name(table)}"
            )
        if provider not in PRODUCT_PROVIDERS:
            known = ", ".join(f"[{name}]" for name in sorted(PRODUCT_PROVIDERS))
            raise ValueError(
                f"product catalogue: unknown provider table [{provider}] (expected {known})"
            )
        mapping: dict[str, str] = {}
        for provider_id, product_key in table.items():
            if not isinstance(product_key, str):
                raise ValueError(
                    f"product catalogue: [{provider}] {provider_id!r} must map to a string "
                    f"product key, got a {_type_name(product_key)}"
                )
            if not product_key.strip():
                raise ValueError(
                    f"product catalogue: [{provider}] {provider_id!r} maps to a blank product key"
                )
            mapping[provider_id] = product_key
        by_provider[provider] = mapping
    return ProductCatalog(by_provider)
