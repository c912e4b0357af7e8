"""Wiring of event-driven workflows into a worker process: the reactor (elected, follows the log
and enqueues jobs) and a dispatcher (delivers them), both only when ``WORKFLOWS_FILE`` is set."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from contextlib import suppress

from app.actions import ACTIONS
from app.actions.base import Sender
from app.dispatcher import DispatchConfig, run_dispatcher
from app.settings import Settings
from domain.workflows import WorkflowSet
from projections.reactor import run_reactor

log = logging.getLogger("hookledger.workflows")

OUTBOX_PARTS = ("reactor", "dispatcher")


def make_senders(settings: Settings, workflows: WorkflowSet) -> dict[str, Sender]:
    """One sender per action type the workflows use (logs how each one sends)."""
    return {name: ACTIONS[name].make_sender(settings) for name in sorted(workflows.action_types())}


def dispatch_config(
    settings: Settings, workflows: WorkflowSet, senders: dict[str, Sender]
) -> DispatchConfig:
    assert settings.database_url
    return DispatchConfig(
        database_url=settings.database_url,
        workflows=workflows,
        senders=senders,
        max_attempts=settings.outbox_max_attempts,
        backoff_base=settings.outbox_backoff_base_seconds,
        backoff_cap=settings.outbox_backoff_max_seconds,
        batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds,
        timeout=settings.outbox_timeout_seconds,
        connect_timeout=settings.db_connect_timeout_seconds,
    )


async def run_reactions(
    settings: Settings, stop: asyncio.Event, parts: Iterable[str] = OUTBOX_PARTS
) -> None:
    """Run the selected parts until ``stop`` is set; nothing without WORKFLOWS_FILE."""
    workflows = settings.workflows
    if workflows is None:
        log.info("WORKFLOWS_FILE is unset: no reactor or dispatcher in this process")
        return
    assert settings.database_url
    selected = set(parts)
    log.info(
        "workflows: %d from %s (%s); running %s",
        len(workflows.workflows),
        settings.workflows_file,
        ", ".join(f"{w.name}: {w.provider} {w.event} -> {w.action}" for w in workflows.workflows)
        or "none",
        " and ".join(p for p in OUTBOX_PARTS if p in selected),
    )
    tasks = []
    if "reactor" in selected:
        tasks.append(
            run_reactor(
                workflows,
                settings.database_url,
                stop,
                batch_size=settings.worker_batch_size,
                poll_seconds=settings.worker_poll_seconds,
                connect_timeout=settings.db_connect_timeout_seconds,
                start=settings.reactor_start,
            )
        )
    senders: dict[str, Sender] = {}
    if "dispatcher" in selected:
        senders = make_senders(settings, workflows)
        tasks.append(run_dispatcher(dispatch_config(settings, workflows, senders), stop))
    try:
        await asyncio.gather(*tasks)
    finally:
        for sender in senders.values():
            with suppress(Exception):
                await sender.close()
