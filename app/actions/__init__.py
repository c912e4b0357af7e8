"""The action types a workflow may use, by name. Adding one: write ``app/actions/<name>.py``
exporting ``ACTION`` (see ``app/actions/base.py``) and list it here."""

from __future__ import annotations

from app.actions import email, forward
from app.actions.base import ActionType

ACTIONS: dict[str, ActionType] = {a.name: a for a in (email.ACTION, forward.ACTION)}
