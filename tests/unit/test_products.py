"""The product catalogue: TOML parsing and which mapping a product key comes from."""

from __future__ import annotations

import pytest

from domain.products import ProductCatalog, parse_catalog

CATALOG_TOML = """
# Stripe: prices win over their product.
[stripe]
price_1PqZpro = "pro"
prod_Q8xPro = "pro-legacy"
prod_RqTeam = "team"

[lemonsqueezy]
"4521" = "course"
301122 = "course-bundle"
"""


@pytest.fixture
def catalog() -> ProductCatalog:
    return parse_catalog(CATALOG_TOML)


def test_parses_one_table_per_provider(catalog: ProductCatalog) -> None:
    assert catalog == ProductCatalog(
        {
            "stripe": {"price_1PqZpro": "pro", "prod_Q8xPro": "pro-legacy", "prod_RqTeam": "team"},
            "lemonsqueezy": {"4521": "course", "301122": "course-bundle"},
        }
    )


def test_empty_text_and_empty_catalog_agree() -> None:
    assert parse_catalog("") == ProductCatalog.empty()
    assert parse_catalog("# nothing mapped yet\n[stripe]\n") == ProductCatalog({"stripe": {}})


def test_price_mapping_beats_product_mapping(catalog: ProductCatalog) -> None:
    assert catalog.key_for("stripe", "price_1PqZpro", "prod_Q8xPro") == "pro"


def test_product_mapping_applies_when_price_is_unmapped(catalog: ProductCatalog) -> None:
    assert catalog.key_for("stripe", "price_other", "prod_Q8xPro") == "pro-legacy"


def test_variant_mapping_beats_product_mapping(catalog: ProductCatalog) -> None:
    assert catalog.key_for("lemonsqueezy", "4521", "301122") == "course"
    assert catalog.key_for("lemonsqueezy", "9999", "301122") == "course-bundle"


def test_unmapped_falls_back_to_provider_and_product_id(catalog: ProductCatalog) -> None:
    assert catalog.key_for("stripe", "price_x", "prod_x") == "stripe:prod_x"
    assert ProductCatalog.empty().key_for("stripe", "price_1PqZpro", "prod_x") == "stripe:prod_x"
    assert catalog.key_for("lemonsqueezy", "1", "2") == "lemonsqueezy:2"


def test_unmapped_without_product_id_uses_the_specific_id(catalog: ProductCatalog) -> None:
    assert catalog.key_for("stripe", "price_x", None) == "stripe:price_x"
    assert catalog.key_for("stripe", "price_1PqZpro", None) == "pro"
    assert catalog.key_for("stripe", None, "prod_RqTeam") == "team"


def test_mappings_do_not_leak_between_providers(catalog: ProductCatalog) -> None:
    assert catalog.key_for("stripe", "4521", None) == "stripe:4521"


def test_key_for_needs_an_id() -> None:
    with pytest.raises(ValueError, match="specific id or a product id"):
        ProductCatalog.empty().key_for("stripe", None, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[stripe\nprice_1 = 'pro'", r"not valid TOML: .*line 1"),
        ("[stripe]\nprice_1 = 'pro'\nprice_2 = \n", r"not valid TOML: .*line 3"),
        ("[stripe]\nprice_1 = 'pro'\nprice_1 = 'team'\n", r"not valid TOML: .*line 3"),
        ('stripe = "pro"\n', r"top-level key 'stripe' must be a provider table .*got a str"),
        ("price_1 = 3\n", r"top-level key 'price_1' must be a provider table .*got a int"),
        ("[strpie]\nprice_1 = 'pro'\n", r"unknown provider table \[strpie\]"),
        ("[slack]\nU1 = 'pro'\n", r"unknown provider table \[slack\]"),
        ("[stripe]\nprice_1 = 3\n", r"\[stripe\] 'price_1' must map to a string .*got a int"),
        ("[lemonsqueezy]\n4521 = true\n", r"\[lemonsqueezy\] '4521' must map to a string .*bool"),
        ("[stripe]\nprice_1 = ['pro']\n", r"\[stripe\] 'price_1' must map to a string .*list"),
        ("[stripe.prices]\nprice_1 = 'pro'\n", r"\[stripe\] 'prices' must map to a string .*table"),
        ("[stripe]\nprice_1 = '  '\n", r"\[stripe\] 'price_1' maps to a blank product key"),
    ],
)
def test_parse_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_catalog(text)
