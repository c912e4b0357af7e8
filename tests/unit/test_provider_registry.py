"""The provider registry, and the purity rule every adapter module follows."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from domain.providers import framerauth, hmac_tools, lemonsqueezy, registry, slack, stripe
from domain.providers.registry import PROVIDERS, resolve

PROVIDER_DIR = Path(registry.__file__).parent


def test_every_adapter_is_registered_once() -> None:
    modules = (stripe, lemonsqueezy, slack, framerauth)
    assert tuple(module.PROVIDER for module in modules) == PROVIDERS


@pytest.mark.parametrize("name", ["stripe", "lemonsqueezy", "slack", "framerauth"])
def test_resolve_by_name(name: str) -> None:
    provider = resolve(name)
    assert provider is not None
    assert provider.name == name


def test_resolve_alias() -> None:
    assert resolve("squeezy") is lemonsqueezy.PROVIDER


@pytest.mark.parametrize("route_name", ["unknown", "", "Stripe", "stripe/", "squeezy "])
def test_resolve_unknown_is_none(route_name: str) -> None:
    assert resolve(route_name) is None


def test_names_and_aliases_are_unique() -> None:
    route_names = [name for p in PROVIDERS for name in (p.name, *p.aliases)]
    assert len(route_names) == len(set(route_names))
    assert len({p.secret_env for p in PROVIDERS}) == len(PROVIDERS)


def test_signed_headers_are_lower_case() -> None:
    for provider in PROVIDERS:
        assert provider.signed_headers
        assert all(name == name.lower() for name in provider.signed_headers)


@pytest.mark.parametrize("path", sorted(PROVIDER_DIR.glob("*.py")), ids=lambda path: path.name)
def test_adapters_import_only_stdlib_msgspec_and_domain(path: Path) -> None:
    allowed = set(sys.stdlib_module_names) | {"msgspec", "domain"}
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots = [node.module.split(".")[0]]
        else:
            continue
        assert set(roots) <= allowed, f"{path.name} imports {roots}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("whsec_a", ["whsec_a"]),
        (" whsec_a , whsec_b ", ["whsec_a", "whsec_b"]),
        ("whsec_a,,whsec_b,", ["whsec_a", "whsec_b"]),
        ("", []),
    ],
)
def test_split_secrets_trims_and_drops_blank_entries(raw: str, expected: list[str]) -> None:
    assert hmac_tools.split_secrets(raw) == expected
