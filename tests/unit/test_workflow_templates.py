"""Templates over body fields: ${path} substitution, value rendering, errors, header safety."""

from __future__ import annotations

import re

import pytest

from domain.workflows.templates import TemplateError, check_template, render, render_line

BODY = {
    "data": {
        "attributes": {
            "user_email": "mary@example.com",
            "user_name": "Mary",
            "order_number": 1042,
            "total": 59.5,
            "refunded": False,
            "refunded_at": None,
            "items": [{"name": "Course"}],
            "note": "line one\r\nline two",
            "tricky": "${data.attributes.user_email} {0.__class__} %(x)s",
        }
    }
}


def test_fields_are_substituted_by_dotted_path() -> None:
    text = (
        "Hi ${data.attributes.user_name} <${data.attributes.user_email}>,"
        " #${data.attributes.order_number}"
    )
    assert render(text, BODY) == "Hi Mary <mary@example.com>, #1042"


def test_values_render_as_json_scalars_read() -> None:
    assert render("${data.attributes.total}", BODY) == "59.5"
    assert render("${data.attributes.refunded}", BODY) == "false"
    assert render("[${data.attributes.refunded_at}]", BODY) == "[]"
    assert render("${data.attributes.items.0.name}", BODY) == "Course"


def test_substituted_text_is_never_evaluated_again() -> None:
    rendered = render("${data.attributes.tricky}", BODY)
    assert rendered == "${data.attributes.user_email} {0.__class__} %(x)s"


def test_dollar_escapes_and_plain_text() -> None:
    assert render("costs $$5 for ${data.attributes.user_name}", BODY) == "costs $5 for Mary"
    assert render("no fields at all", BODY) == "no fields at all"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${data.attributes.missing}", "no field ${data.attributes.missing}"),
        ("${data.attributes.items}", "is an object or a list"),
        ("${data}", "is an object or a list"),
    ],
)
def test_missing_or_structured_fields_fail_to_render(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        render(text, BODY)


@pytest.mark.parametrize("text", ["$name", "costs $5", "${unclosed", "${a..b}", "$"])
def test_bad_template_syntax_is_caught_up_front(text: str) -> None:
    with pytest.raises(ValueError, match=r"write \$\$ for a literal \$"):
        check_template(text)


def test_check_template_lists_the_paths() -> None:
    assert check_template("${a.b} and ${c} and $$") == ("a.b", "c")


def test_header_values_lose_their_line_breaks() -> None:
    assert render_line("Re: ${data.attributes.note}", BODY) == "Re: line one line two"
