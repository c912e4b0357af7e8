"""The user_profiles projection's batch step: identities in, one profile per email out."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from domain.facts import Fact, IdentitySeen
from projections.customers import fold_identities
from projections.db_types import Conn
from projections.identities import IdentityState, derive_profile
from projections.store import delete_rows, identities_with_emails, upsert_rows

NAME = "user_profiles"
_COLUMNS = ("email", "name", "identities", "first_seen", "last_updated", "deleted")


def relevant(fact: Fact) -> bool:
    return type(fact) is IdentitySeen


async def apply(conn: Conn, schema: str, facts: Sequence[Fact]) -> None:
    changes = await fold_identities(conn, schema, facts)
    emails = changes.affected_emails()
    if not emails:
        return
    by_email: dict[str, list[IdentityState]] = {}
    for identity in await identities_with_emails(conn, schema, emails):
        if identity.email:
            by_email.setdefault(identity.email, []).append(identity)
    upserts, deletes = [], []
    for email in sorted(emails):
        profile = derive_profile(email, by_email.get(email, ()))
        if profile is None:
            deletes.append((email,))
            continue
        upserts.append(
            (
                profile.email,
                profile.name,
                msgspec.json.encode(profile.identities).decode(),
                profile.first_seen,
                profile.last_updated,
                profile.deleted,
            )
        )
    await upsert_rows(conn, schema, NAME, ("email",), _COLUMNS, upserts)
    await delete_rows(conn, schema, NAME, ("email",), deletes)
