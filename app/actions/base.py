"""What an action type is: its settings (an ``ActionConfig`` in the workflow file) and a sender
that performs one attempt of one job.

Adding an action type is one module exporting ``ACTION = ActionType(...)``, listed in
``app/actions/__init__.py``. A sender returns a short detail on success; it raises
``PermanentFailure`` when retrying cannot help (the job goes to dead-letter at once) and any
other exception for a failure worth retrying with backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from domain.log_record import LoggedEvent
from domain.workflows import ActionConfig

if TYPE_CHECKING:
    from app.settings import Settings


class ActionFailed(Exception):
    """This attempt failed; a later one may succeed (retried with backoff)."""


class PermanentFailure(Exception):
    """Retrying cannot help (e.g. the template needs a field the event lacks)."""


@dataclass(frozen=True, slots=True)
class JobRun:
    """One attempt of one job, as a sender sees it."""

    job_id: int
    workflow: str
    idempotency_key: str
    attempt: int
    event: LoggedEvent
    payload: object
    """The event body decoded from JSON (None if it is not JSON)."""


class Sender(Protocol):
    async def send(self, config: Any, run: JobRun) -> str:
        """Perform the action once; returns a short detail for the attempt record."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ActionType:
    name: str
    config: type[ActionConfig]
    make_sender: Callable[[Settings], Sender]
    """Called once per dispatcher, only when some workflow uses this action type."""
    check_secret: Callable[[str], object] | None = None
    """Validates each value of an environment variable named by a ``*_env`` field."""
