"""The eventsourcing library's ``ProjectionRunner`` building ``subscriptions`` from our log.

``python -m bench.es_projection --database-url URL --events 20000 --out result.json``

The library's own ``Application`` (named ``HookLedger``, so it reads the ``hookledger_events``
table the intake writes) is followed by a ``ProjectionRunner`` with a minimal ``Projection``: for
each event it maps the payload to facts with the project's mappers (``domain.mapping``), keeps
the facts the subscriptions projection keeps, and hands them to ``bench.es_view``, which folds
them and records the tracking position in one transaction. The rate is events processed from an
empty tracking table until the tracking position reaches the ``--events``-th event of the log.
"""

from __future__ import annotations

import argparse
import resource
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection, ProjectionRunner

from bench.es_ceiling import library_env
from bench.es_view import SubscriptionsView
from bench.stats import DriverResult, LatencySummary, write_result
from domain.errors import MappingError
from domain.log_record import LoggedEvent
from domain.mapping import facts_for
from domain.products import ProductCatalog
from projections.apply_subscriptions import relevant

_CATALOG = ProductCatalog.empty()
DROP_TABLES = (
    "DROP TABLE IF EXISTS es_identities, es_subscription_sources, es_subscriptions,"
    " subscriptionsprojection_tracking"
)
"""Back to an empty view and tracking table (the runner creates them again)."""
_encode = msgspec.json.Encoder().encode


class HookLedger(Application[uuid.UUID]):
    """The library's Application on the table the service writes (``hookledger_events``)."""


class SubscriptionsProjection(Projection[SubscriptionsView]):
    unmapped = 0

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        event = LoggedEvent(
            position=tracking.notification_id,
            provider=domain_event.provider,
            event_id=domain_event.event_id,
            event_type=domain_event.event_type,
            occurred_at=domain_event.occurred_at,
            received_at=domain_event.timestamp,
            body=_encode(domain_event.payload),
        )
        try:
            facts = [f for f in facts_for(event, _CATALOG) if relevant(f)]
        except MappingError:
            type(self).unmapped += 1  # ours parks these; here they are only tracked
            facts = []
        self.view.apply(facts, tracking)


def _env(database_url: str) -> dict[str, str]:
    env = library_env(database_url, pool_size=2)
    env["CREATE_TABLE"] = "n"  # migrations own hookledger_events
    env[SubscriptionsProjection.name.upper() + "_CREATE_TABLE"] = "y"  # its tracking + view
    return env


def measure(args: argparse.Namespace) -> DriverResult:
    env = _env(args.database_url)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    runner = ProjectionRunner(
        application_class=HookLedger,
        projection_class=SubscriptionsProjection,
        view_class=SubscriptionsView,
        env=env,
    )
    with runner:
        runner.wait(args.last_position, timeout=args.timeout)
        finished = time.monotonic()
        after = resource.getrusage(resource.RUSAGE_SELF)
        reached = runner.view.max_tracking_id(runner.app_name) or 0
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    done = reached >= args.last_position
    return DriverResult(
        label="eventsourcing ProjectionRunner",
        ok=args.events if done else 0,
        errors=0 if done else 1,
        window_start=started,
        window_end=finished,
        latency=LatencySummary(0, 0.0, 0.0, 0.0, 0.0),
        own_cpu_seconds=cpu,
        totals={"tracking_position": reached, "unmapped": SubscriptionsProjection.unmapped},
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.es_projection", description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--last-position", type=int, required=True, help="of the N-th event")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    write_result(args.out, measure(args))


if __name__ == "__main__":
    main()
