"""All provider adapters, and lookup of the one a route name (or alias) refers to."""

from __future__ import annotations

from domain.providers import framerauth, lemonsqueezy, slack, stripe
from domain.providers.base import Provider

PROVIDERS: tuple[Provider, ...] = (
    stripe.PROVIDER,
    lemonsqueezy.PROVIDER,
    slack.PROVIDER,
    framerauth.PROVIDER,
)

_BY_ROUTE_NAME: dict[str, Provider] = {}
for _provider in PROVIDERS:
    for _route_name in (_provider.name, *_provider.aliases):
        # Names and aliases share one namespace; a clash would make routing ambiguous.
        if _route_name in _BY_ROUTE_NAME:
            raise RuntimeError(f"duplicate provider route name {_route_name!r}")
        _BY_ROUTE_NAME[_route_name] = _provider


def resolve(route_name: str) -> Provider | None:
    """The provider whose name or alias is ``route_name`` (exact match), else None."""
    return _BY_ROUTE_NAME.get(route_name)
