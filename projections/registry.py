"""The projections this service runs, by name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from domain.facts import Fact
from projections import apply_product_access, apply_subscriptions, apply_user_profiles
from projections.db_types import Conn


@dataclass(frozen=True, slots=True)
class ProjectionSpec:
    name: str
    relevant: Callable[[Fact], bool]
    apply: Callable[[Conn, str, Sequence[Fact]], Awaitable[None]]
    lock_id: int
    """Second key of the advisory lock that elects the one active runner."""


SPECS: dict[str, ProjectionSpec] = {
    m.NAME: ProjectionSpec(m.NAME, m.relevant, m.apply, i + 1)
    for i, m in enumerate((apply_user_profiles, apply_subscriptions, apply_product_access))
}
