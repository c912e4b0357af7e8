"""Event-driven workflows, the pure part: the workflow file (parsing, validation, line numbers),
conditions on event bodies, templates over body fields, the retry schedule, idempotency keys and
Standard Webhooks signatures.

Pure: the standard library and msgspec only; no clock, no environment, no I/O. Randomness and
time are passed in by the caller.
"""

from domain.workflows.model import ActionConfig, FieldError, Workflow, WorkflowSet
from domain.workflows.parse import WorkflowError, locate, parse_workflows

__all__ = [
    "ActionConfig",
    "FieldError",
    "Workflow",
    "WorkflowError",
    "WorkflowSet",
    "locate",
    "parse_workflows",
]
