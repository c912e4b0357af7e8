"""Workflows: which events (provider, event type, conditions on the body) trigger which action.

One workflow has one action; the outbox holds one job per (workflow, event). An action's own
settings are an ``ActionConfig`` subclass declared by the action's module; this package only
knows their common rules (templates, ``*_env`` fields, ``check``).
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from domain.workflows.conditions import Condition, all_hold


class FieldError(ValueError):
    """A well-typed field of an action's settings has a wrong value."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"`{field}`: {problem}")
        self.field = field
        self.problem = problem


class ActionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Base of every action's settings (the workflow table's keys beyond the common ones).

    Fields named in ``templates`` are checked as templates when the file is read; a field whose
    name ends in ``_env`` names an environment variable that must be set at start-up (its value,
    a secret, never appears in the file)."""

    templates: ClassVar[tuple[str, ...]] = ()

    def check(self) -> None:
        """Raise FieldError for a value that is well-typed but unusable."""


class Workflow(msgspec.Struct, frozen=True):
    name: str
    provider: str
    event: str
    conditions: tuple[Condition, ...]
    action: str
    config: ActionConfig
    line: int | None = None
    """Line of the workflow's table in its file (for messages)."""

    def env_fields(self) -> dict[str, str]:
        """Field name → the environment variable it names (fields ending in ``_env``)."""
        return {
            name: getattr(self.config, name)
            for name in self.config.__struct_fields__
            if name.endswith("_env")
        }


def _decode(body: bytes) -> object:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None


class WorkflowSet(msgspec.Struct, frozen=True):
    workflows: tuple[Workflow, ...] = ()

    def by_name(self, name: str) -> Workflow | None:
        return next((w for w in self.workflows if w.name == name), None)

    def action_types(self) -> frozenset[str]:
        return frozenset(w.action for w in self.workflows)

    def reactions(self, provider: str, event_type: str, body: bytes) -> list[Workflow]:
        """The workflows one logged event triggers, in file order (the body is decoded only
        when a candidate has conditions)."""
        candidates = [w for w in self.workflows if w.provider == provider and w.event == event_type]
        if not any(w.conditions for w in candidates):
            return candidates
        decoded = _decode(body)
        return [w for w in candidates if all_hold(w.conditions, decoded)]
