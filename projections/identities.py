"""Pure evolution of provider identities, and the user profile derived from them.

An identity (Stripe or Lemon Squeezy customer, Slack or FramerAuth user) keeps last-writer-wins
registers for email, name and the deleted flag, ordered by ``(at, event_key)``, plus the first and
last time it was seen. Every register merge is commutative, associative and idempotent, so the
state after any permutation (or repetition) of the same facts is identical.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from domain.facts import IdentitySeen

_NEVER = ""  # event keys are never empty, so any real stamp wins over this one


class IdentityState(msgspec.Struct, frozen=True):
    provider: str
    identity_id: str
    first_seen: datetime
    last_seen: datetime
    email: str | None = None
    email_at: datetime | None = None
    email_key: str = _NEVER
    name: str | None = None
    name_at: datetime | None = None
    name_key: str = _NEVER
    deleted: bool | None = None
    deleted_at: datetime | None = None
    deleted_key: str = _NEVER


def _wins(at: datetime, key: str, cur_at: datetime | None, cur_key: str) -> bool:
    return cur_at is None or (at, key) > (cur_at, cur_key)


def evolve_identity(state: IdentityState | None, fact: IdentitySeen) -> IdentityState:
    if state is None:
        state = IdentityState(fact.provider, fact.identity_id, fact.at, fact.at)
    changes: dict[str, object] = {
        "first_seen": min(state.first_seen, fact.at),
        "last_seen": max(state.last_seen, fact.at),
    }
    if fact.email is not None and _wins(fact.at, fact.event_key, state.email_at, state.email_key):
        changes.update(email=fact.email, email_at=fact.at, email_key=fact.event_key)
    if fact.name is not None and _wins(fact.at, fact.event_key, state.name_at, state.name_key):
        changes.update(name=fact.name, name_at=fact.at, name_key=fact.event_key)
    if fact.deleted is not None and _wins(
        fact.at, fact.event_key, state.deleted_at, state.deleted_key
    ):
        changes.update(deleted=fact.deleted, deleted_at=fact.at, deleted_key=fact.event_key)
    return msgspec.structs.replace(state, **changes)


class Profile(msgspec.Struct, frozen=True):
    """One row of ``user_profiles``."""

    email: str
    name: str | None
    identities: dict[str, list[str]]
    first_seen: datetime
    last_updated: datetime
    deleted: bool


def derive_profile(email: str, identities: Iterable[IdentityState]) -> Profile | None:
    """The profile of ``email`` from every identity whose current email it is (None if none)."""
    mine = [i for i in identities if i.email == email]
    if not mine:
        return None
    named = [i for i in mine if i.name is not None and i.name_at is not None]
    latest_named = max(named, key=lambda i: (i.name_at, i.name_key), default=None)
    grouped: dict[str, list[str]] = {}
    for identity in mine:
        grouped.setdefault(identity.provider, []).append(identity.identity_id)
    return Profile(
        email=email,
        name=latest_named.name if latest_named else None,
        identities={p: sorted(ids) for p, ids in sorted(grouped.items())},
        first_seen=min(i.first_seen for i in mine),
        last_updated=max(i.last_seen for i in mine),
        deleted=any(i.deleted for i in mine if i.provider == "framerauth"),
    )
