"""The identity step shared by the projections: fold IdentitySeen facts into the generation's
``identities`` table and report whose email changed (their dependants must be re-derived)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from domain.facts import Fact, IdentitySeen
from projections.db_types import Conn
from projections.identities import IdentityState, evolve_identity
from projections.store import Key, load_identities, save_identities


class IdentityChanges:
    def __init__(self, before: dict[Key, IdentityState], after: dict[Key, IdentityState]) -> None:
        self.before = before
        self.after = after

    @property
    def changed(self) -> list[IdentityState]:
        return [s for k, s in self.after.items() if self.before.get(k) != s]

    def email_changed(self) -> set[Key]:
        return {
            k
            for k, s in self.after.items()
            if (self.before[k].email if k in self.before else None) != s.email
        }

    def affected_emails(self) -> set[str]:
        emails = {s.email for s in self.changed}
        emails |= {self.before[k].email for k in self.email_changed() if k in self.before}
        return {e for e in emails if e is not None}


async def fold_identities(
    conn: Conn,
    schema: str,
    facts: Sequence[Fact],
    providers: Iterable[str] | None = None,
) -> IdentityChanges:
    """Apply the IdentitySeen facts (of ``providers``, or all) and save what changed."""
    wanted = set(providers) if providers is not None else None
    seen = [
        f for f in facts if isinstance(f, IdentitySeen) and (wanted is None or f.provider in wanted)
    ]
    keys = {(f.provider, f.identity_id) for f in seen}
    before = await load_identities(conn, schema, keys) if keys else {}
    after = dict(before)
    for fact in seen:
        key = (fact.provider, fact.identity_id)
        after[key] = evolve_identity(after.get(key), fact)
    changes = IdentityChanges(before, after)
    await save_identities(conn, schema, changes.changed)
    return changes


async def customer_emails(
    conn: Conn, schema: str, known: dict[Key, IdentityState], wanted: set[Key]
) -> dict[Key, str | None]:
    """Current email of each wanted customer, loading those not already in ``known``."""
    missing = wanted - known.keys()
    loaded = await load_identities(conn, schema, missing) if missing else {}
    states = {**loaded, **{k: v for k, v in known.items() if k in wanted}}
    return {k: (states[k].email if k in states else None) for k in wanted}
