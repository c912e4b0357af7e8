"""Templates over an event's body fields: ``${data.object.customer_email}``.

Based on ``string.Template``: only ``${PATH}`` substitutions of single values (no expressions,
no attribute access, no format specs), ``$$`` for a literal ``$``; a bare ``$name`` is an error,
so a typo never renders silently. Values render as JSON scalars would read: strings as they are,
numbers in decimal, ``true``/``false``; ``null`` renders as an empty string. A path that is
missing, or leads to an object or a list, makes rendering fail (``TemplateError``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping

from domain.workflows.paths import MISSING, parse_path, resolve


class TemplateError(ValueError):
    """A template cannot be rendered for this event (a field is missing or not a value)."""


class _FieldTemplate(string.Template):
    idpattern = r"(?!)"  # bare $name never matches: it must be written ${name}
    braceidpattern = r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*"
    flags = re.ASCII


class _Fields(Mapping[str, str]):
    """A lazily resolved, read-only view of a body as ``{dotted path: text}``."""

    def __init__(self, body: object) -> None:
        self._body = body

    def __getitem__(self, path: str) -> str:
        value = resolve(self._body, parse_path(path))
        if value is MISSING:
            raise KeyError(path)
        return render_value(value, path)

    def __iter__(self) -> Iterator[str]:  # never iterated by string.Template
        return iter(())

    def __len__(self) -> int:
        return 0


def render_value(value: object, path: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"field ${{{path}}} is an object or a list, not a single value")


def check_template(text: str) -> tuple[str, ...]:
    """The paths ``text`` uses; raises ValueError when its syntax is wrong."""
    template = _FieldTemplate(text)
    if not template.is_valid():
        raise ValueError(
            f"template {text!r} has a $ that is not ${{field.path}}: write $$ for a literal $"
        )
    return tuple(template.get_identifiers())


def render(text: str, body: object) -> str:
    """``text`` with every ``${path}`` replaced by that field of ``body``."""
    try:
        return _FieldTemplate(text).substitute(_Fields(body))
    except KeyError as exc:
        raise TemplateError(f"the event has no field ${{{exc.args[0]}}}") from None
    except ValueError as exc:
        if isinstance(exc, TemplateError):
            raise
        raise TemplateError(str(exc)) from None


def render_line(text: str, body: object) -> str:
    """Like ``render``, for one-line values (mail headers): line breaks become spaces."""
    return " ".join(render(text, body).splitlines()).strip()
