"""Conditions on an event's body: ``PATH = VALUE`` or ``PATH != VALUE``.

``PATH`` is a dotted path (``domain.workflows.paths``); ``VALUE`` is a JSON literal: a
``"quoted string"``, a number, ``true``, ``false`` or ``null``. ``==`` is accepted for ``=``.
Comparison is by JSON type: ``1 = 1.0`` holds, ``true = 1`` and ``"1" = 1`` do not. A missing
field counts as ``null``: ``PATH != null`` means "present and not null", and ``PATH = "x"`` fails
(``PATH != "x"`` holds) when it is missing.
"""

from __future__ import annotations

import re

import msgspec

from domain.workflows.paths import MISSING, parse_path, resolve

Scalar = str | int | float | bool | None

_FORM = re.compile(r"^\s*(?P<path>[^\s!=]+)\s*(?P<op>!=|==|=)\s*(?P<value>.*?)\s*$", re.DOTALL)


class Condition(msgspec.Struct, frozen=True):
    path: tuple[str, ...]
    negated: bool
    value: Scalar
    text: str

    def holds(self, body: object) -> bool:
        actual = resolve(body, self.path)
        equal = same_value(None if actual is MISSING else actual, self.value)
        return equal != self.negated


def same_value(actual: object, expected: Scalar) -> bool:
    """JSON equality of two scalars (booleans are not numbers)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float):
        return isinstance(actual, int | float) and actual == expected
    return type(actual) is type(expected) and actual == expected


def parse_condition(text: str) -> Condition:
    """Raises ValueError saying what is wrong with ``text``."""
    match = _FORM.match(text)
    if match is None:
        raise ValueError(
            f"condition {text!r} must look like PATH = VALUE or PATH != VALUE,"
            ' e.g. data.object.mode = "subscription"'
        )
    try:
        path = parse_path(match["path"])
    except ValueError as exc:
        raise ValueError(f"condition {text!r}: {exc}") from None
    raw = match["value"]
    try:
        value = msgspec.json.decode(raw.encode())
    except msgspec.DecodeError:
        hint = f' (quote strings: "{raw}")' if raw and not raw.startswith('"') else ""
        raise ValueError(
            f"condition {text!r}: the value {raw!r} is not a JSON literal{hint}"
        ) from None
    if isinstance(value, dict | list):
        raise ValueError(
            f"condition {text!r}: the value must be a string, a number, true, false or null"
        )
    return Condition(path, match["op"] == "!=", value, text.strip())


def all_hold(conditions: tuple[Condition, ...], body: object) -> bool:
    return all(c.holds(body) for c in conditions)
