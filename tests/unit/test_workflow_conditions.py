"""Conditions on event bodies: syntax, JSON-typed comparison, missing fields, list indexes."""

from __future__ import annotations

import pytest

from domain.workflows.conditions import all_hold, parse_condition

BODY = {
    "type": "checkout.session.completed",
    "data": {
        "object": {
            "mode": "subscription",
            "amount_total": 1900,
            "livemode": False,
            "customer_email": None,
            "lines": {"data": [{"price": {"id": "price_pro"}}]},
            "metadata": {"plan-tier": "gold"},
        }
    },
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('data.object.mode = "subscription"', True),
        ('data.object.mode == "subscription"', True),
        ('data.object.mode != "subscription"', False),
        ('data.object.mode = "payment"', False),
        ("data.object.amount_total = 1900", True),
        ("data.object.amount_total = 1900.0", True),
        ('data.object.amount_total = "1900"', False),
        ("data.object.livemode = false", True),
        ("data.object.livemode = 0", False),
        ("data.object.customer_email = null", True),
        ("data.object.customer_email != null", False),
        ("data.object.nowhere = null", True),
        ("data.object.nowhere != null", False),
        ('data.object.nowhere = "x"', False),
        ('data.object.nowhere != "x"', True),
        ('data.object.lines.data.0.price.id = "price_pro"', True),
        ('data.object.lines.data.1.price.id = "price_pro"', False),
        ('data.object.metadata.plan-tier = "gold"', True),
        ('  type   =   "checkout.session.completed"  ', True),
        ('data.object.mode.deeper = "x"', False),
    ],
)
def test_condition_evaluation(text: str, expected: bool) -> None:
    assert parse_condition(text).holds(BODY) is expected


def test_all_conditions_must_hold() -> None:
    both = (
        parse_condition('data.object.mode = "subscription"'),
        parse_condition("data.object.livemode = true"),
    )
    assert all_hold(both, BODY) is False
    assert all_hold(both[:1], BODY) is True
    assert all_hold((), BODY) is True


def test_a_body_that_is_not_an_object_matches_only_null_checks() -> None:
    assert parse_condition('a.b = "x"').holds(None) is False
    assert parse_condition("a.b = null").holds([1, 2]) is True


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("data.object.mode subscription", "must look like PATH = VALUE"),
        ("data.object.mode = subscription", 'not a JSON literal (quote strings: "subscription")'),
        ('data..mode = "x"', "is not a field path"),
        ('data.object.mode = {"a": 1}', "must be a string, a number, true, false or null"),
        ("data.object.mode = [1]", "must be a string, a number, true, false or null"),
        ("= 1", "must look like PATH = VALUE"),
        ('data.object.mode = "unterminated', "not a JSON literal"),
    ],
)
def test_bad_conditions_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match="condition") as caught:
        parse_condition(text)
    assert problem in str(caught.value)
