"""Reading the workflow file (TOML) into a ``WorkflowSet``, with messages that name the line.

Format, one table per workflow::

    [workflow.welcome_buyer]                 # the name: letters, digits, _ or -
    provider = "lemonsqueezy"                # a provider hookledger receives
    event = "order_created"                  # its event type, exactly
    when = ['data.attributes.status = "paid"']   # optional: all must hold
    action = "email"                         # an action type; its own fields follow
    to = "${data.attributes.user_email}"
    ...

Syntax errors carry tomllib's line and column; for schema errors the line is found by looking
for the workflow's table header and the key in the text (best effort: the table's line when the
key cannot be found).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from typing import Any

import msgspec

from domain.workflows.conditions import Condition, parse_condition
from domain.workflows.model import ActionConfig, FieldError, Workflow, WorkflowSet
from domain.workflows.templates import check_template

COMMON_FIELDS = ("provider", "event", "when", "action")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*\Z")
_TOML_AT = re.compile(r"(?s)(.*) \(at line (\d+), column (\d+)\)\Z")


class WorkflowError(ValueError):
    """The workflow file is unusable; ``line`` (1-based) says where when known."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(f"line {line}: {problem}" if line else problem)
        self.line = line
        self.problem = problem


def locate(text: str, name: str, key: str | None = None, needle: str | None = None) -> int | None:
    """Line of workflow ``name``'s table header, or of ``key`` / the first line containing
    ``needle`` inside that table."""
    lines = text.splitlines()
    n = re.escape(name)
    header = re.compile(rf"""^\s*\[\s*workflow\s*\.\s*(?:{n}|"{n}"|'{n}')\s*\]""")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return next((i + 1 for i, line in enumerate(lines) if name in line), None)
    end = next((j for j in range(start + 1, len(lines)) if lines[j].lstrip()[:1] == "["), None)
    section = range(start + 1, end if end is not None else len(lines))
    if needle:
        for j in section:
            if needle in lines[j]:
                return j + 1
    if key:
        k = re.escape(key)
        pattern = re.compile(rf"""^\s*(?:{k}|"{k}"|'{k}')\s*=""")
        for j in section:
            if pattern.match(lines[j]):
                return j + 1
    return start + 1


def _syntax_error(exc: tomllib.TOMLDecodeError) -> WorkflowError:
    found = _TOML_AT.match(str(exc))
    if found is None:
        return WorkflowError(None, f"invalid TOML: {exc}")
    return WorkflowError(int(found[2]), f"invalid TOML (column {found[3]}): {found[1]}")


def parse_workflows(
    text: str, actions: Mapping[str, type[ActionConfig]], providers: Collection[str]
) -> WorkflowSet:
    """Raises WorkflowError naming the line and the problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc) from None
    for key in document:
        if key != "workflow":
            line = next((i + 1 for i, s in enumerate(text.splitlines()) if key in s), None)
            raise WorkflowError(
                line, f"unknown top-level key {key!r}: workflows are [workflow.NAME] tables"
            )
    tables = document.get("workflow", {})
    if not isinstance(tables, dict):
        line = next((i + 1 for i, s in enumerate(text.splitlines()) if "workflow" in s), None)
        raise WorkflowError(line, "workflows are [workflow.NAME] tables, not [[workflow]]")
    return WorkflowSet(
        tuple(_Reader(text, name, actions, providers).read(t) for name, t in tables.items())
    )


class _Reader:
    """Reads one workflow table; every error names the workflow and its line."""

    def __init__(
        self,
        text: str,
        name: str,
        actions: Mapping[str, type[ActionConfig]],
        providers: Collection[str],
    ) -> None:
        self.text, self.name, self.actions, self.providers = text, name, actions, providers

    def fail(self, key: str | None, problem: str, needle: str | None = None) -> WorkflowError:
        line = locate(self.text, self.name, key, needle)
        return WorkflowError(line, f"workflow {self.name!r}: {problem}")

    def read(self, table: Any) -> Workflow:
        if not _NAME.match(self.name):
            raise self.fail(None, "a workflow name is 1-64 letters, digits, _ or -")
        if not isinstance(table, dict):
            raise self.fail(None, "must be a table: [workflow.NAME] with its fields below")
        known = ", ".join(sorted(self.actions))
        action = table.get("action")
        if action is None:
            raise self.fail(None, f"missing field `action` (one of: {known})")
        if not isinstance(action, str) or action not in self.actions:
            raise self.fail("action", f"unknown action type {action!r} (known: {known})")
        provider = self.text_field(table, "provider")
        if provider not in self.providers:
            names = ", ".join(sorted(self.providers))
            raise self.fail("provider", f"unknown provider {provider!r} (known: {names})")
        event = self.text_field(table, "event")
        return Workflow(
            name=self.name,
            provider=provider,
            event=event,
            conditions=self.conditions(table.get("when")),
            action=action,
            config=self.config(action, {k: v for k, v in table.items() if k not in COMMON_FIELDS}),
            line=locate(self.text, self.name),
        )

    def text_field(self, table: dict[str, Any], key: str) -> str:
        value = table.get(key)
        if value is None:
            raise self.fail(None, f"missing field `{key}`")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"`{key}` must be a non-empty string")
        return value.strip()

    def conditions(self, when: Any) -> tuple[Condition, ...]:
        if when is None:
            return ()
        items = [when] if isinstance(when, str) else when
        if not isinstance(items, list) or not all(isinstance(c, str) for c in items):
            raise self.fail("when", "`when` must be a condition string or a list of them")
        parsed = []
        for item in items:
            try:
                parsed.append(parse_condition(item))
            except ValueError as exc:
                raise self.fail("when", f"`when`: {exc}", needle=item.strip()[:40]) from None
        return tuple(parsed)

    def config(self, action: str, table: dict[str, Any]) -> ActionConfig:
        config_type = self.actions[action]
        fields = msgspec.structs.fields(config_type)
        names = [f.name for f in fields]
        for key in table:
            if key not in names:
                hint = (
                    " — secrets never go in this file: name an environment variable instead"
                    ' (secret_env = "NAME")'
                    if "secret" in key.lower()
                    else ""
                )
                allowed = ", ".join([*COMMON_FIELDS, *names])
                raise self.fail(
                    key, f"unknown field `{key}` for the {action} action (fields: {allowed}){hint}"
                )
        required = [f.name for f in fields if f.required]
        for key in required:
            if key not in table:
                needs = ", ".join(required)
                raise self.fail(None, f"missing field `{key}` (the {action} action needs {needs})")
        try:
            config = msgspec.convert(table, config_type)
        except msgspec.ValidationError as exc:
            message, _, where = str(exc).partition(" - at `$.")
            field = where.rstrip("`").split(".")[0].split("[")[0] or None
            raise self.fail(field, f"`{field}`: {message}" if field else message) from None
        self.check(config)
        return config

    def check(self, config: ActionConfig) -> None:
        for key in config.templates:
            try:
                check_template(getattr(config, key))
            except ValueError as exc:
                raise self.fail(key, f"`{key}`: {exc}") from None
        for key in config.__struct_fields__:
            if key.endswith("_env") and not _ENV_NAME.match(getattr(config, key)):
                raise self.fail(
                    key,
                    f"`{key}` must name an environment variable (A-Z, 0-9, _), e.g. "
                    "FORWARD_SECRET — never the secret itself",
                )
        try:
            config.check()
        except FieldError as exc:
            raise self.fail(exc.field, str(exc)) from None
