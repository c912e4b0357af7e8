"""Loading ``WORKFLOWS_FILE`` at start-up: parse and validate it, and read the secrets its
actions name (``secret_env = "NAME"``) from the environment, once.

Raises ValueError naming the line and the problem; ``Settings.from_env`` turns that into a
configuration error, so a bad file stops every process before it starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from app.actions import ACTIONS
from domain.providers.hmac_tools import split_secrets
from domain.providers.registry import PROVIDERS
from domain.workflows import WorkflowError, WorkflowSet, locate, parse_workflows


def load_workflows(
    path: Path, env: Mapping[str, str]
) -> tuple[WorkflowSet, dict[str, tuple[str, ...]]]:
    """The workflows in ``path`` and, per environment variable they name, its secret values."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(getattr(exc, "strerror", None) or str(exc)) from None
    workflows = parse_workflows(
        text, {name: a.config for name, a in ACTIONS.items()}, [p.name for p in PROVIDERS]
    )
    secrets: dict[str, tuple[str, ...]] = {}
    for workflow in workflows.workflows:
        check = ACTIONS[workflow.action].check_secret
        for field, variable in workflow.env_fields().items():
            line = locate(text, workflow.name, field)
            values = tuple(split_secrets(env.get(variable, "")))
            if not values:
                raise WorkflowError(
                    line,
                    f"workflow {workflow.name!r}: `{field}` names the environment variable"
                    f" {variable}, which is not set",
                )
            for position, value in enumerate(values):
                try:
                    if check is not None:
                        check(value)
                except ValueError as exc:
                    raise WorkflowError(
                        line, f"workflow {workflow.name!r}: {variable} (secret #{position}): {exc}"
                    ) from None
            secrets[variable] = values
    return workflows, secrets
