"""Dotted paths into a JSON body, shared by conditions and templates.

Syntax: keys separated by dots, each made of ``A-Z a-z 0-9 _ -``; a key of digits also indexes
a list (``data.object.lines.data.0.price.id``). Keys holding other characters (dots, spaces)
cannot be addressed.
"""

from __future__ import annotations

import re

_PATH = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\Z")

MISSING = object()
"""What ``resolve`` returns when the path leads nowhere."""


def parse_path(text: str) -> tuple[str, ...]:
    """The keys of a dotted path; raises ValueError when the syntax is wrong."""
    if not _PATH.match(text):
        raise ValueError(
            f"{text!r} is not a field path (keys of letters, digits, _ or -, joined by dots,"
            " e.g. data.object.mode)"
        )
    return tuple(text.split("."))


def resolve(body: object, keys: tuple[str, ...]) -> object:
    """The value at ``keys`` inside ``body``, or ``MISSING``."""
    current = body
    for key in keys:
        if isinstance(current, dict):
            if key not in current:
                return MISSING
            current = current[key]
        elif isinstance(current, list) and key.isdigit():
            index = int(key)
            if index >= len(current):
                return MISSING
            current = current[index]
        else:
            return MISSING
    return current
