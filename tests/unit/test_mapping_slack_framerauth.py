"""Slack and FramerAuth events → facts; then properties of ``facts_for`` across all providers:
dispatch, agreement with the provider adapters' envelopes, and robustness on arbitrary bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import MappingError
from domain.facts import (
    SUBSCRIPTION_STATUSES,
    IdentitySeen,
    OrderObserved,
    PaymentObserved,
    SubscriptionLinked,
    SubscriptionObserved,
)
from domain.log_record import LoggedEvent
from domain.mapping import MAPPED_EVENT_TYPES, facts_for
from domain.products import ProductCatalog, parse_catalog
from domain.providers.base import Envelope
from domain.providers.registry import resolve

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"
RECEIVED = datetime(2030, 1, 1, tzinfo=UTC)
CATALOG = ProductCatalog.empty()
FRAMER_MSG_ID = "msg_2lBVNk0bEpUHXwMv8Xz2y0Qk1Ab"


def fixture(provider: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / provider / f"{name}.json").read_text())
    return loaded


def logged(
    provider: str,
    body: dict[str, Any] | bytes,
    event_type: str,
    event_id: str,
    occurred_at: datetime | None = None,
) -> LoggedEvent:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return LoggedEvent(1, provider, event_id, event_type, occurred_at, RECEIVED, raw)


# --- Slack ---------------------------------------------------------------------------------


def slack_facts(body: dict[str, Any], event_type: str | None = None) -> list[Any]:
    event_type = event_type or body["event"]["type"]
    return facts_for(logged("slack", body, event_type, body["event_id"]), CATALOG)


def test_slack_team_join() -> None:
    assert slack_facts(fixture("slack", "team_join")) == [
        IdentitySeen(
            provider="slack",
            identity_id="U07JANEDOE1",
            email="jane.doe@hookledger.example",
            name="Jane Doe",
            deleted=None,
            at=datetime(2024, 6, 3, 15, 53, 20, tzinfo=UTC),
            event_key="slack:Ev07TJ1A2B3C",
        )
    ]


def test_slack_user_change() -> None:
    assert slack_facts(fixture("slack", "user_change")) == [
        IdentitySeen(
            provider="slack",
            identity_id="U07JANEDOE1",
            email="jane@hookledger.example",
            name="Jane Q. Doe",
            deleted=None,
            at=datetime(2024, 6, 4, 15, 53, 20, tzinfo=UTC),
            event_key="slack:Ev07UC4D5E6F",
        )
    ]


def test_slack_deactivated_user_without_email_takes_the_profile_name() -> None:
    assert slack_facts(fixture("slack", "user_change_deactivated")) == [
        IdentitySeen(
            provider="slack",
            identity_id="U07OLDUSER9",
            email=None,
            name="Old Account",
            deleted=None,
            at=datetime(2024, 6, 5, 15, 53, 20, tzinfo=UTC),
            event_key="slack:Ev07UC7G8H9I",
        )
    ]


def test_slack_name_is_none_without_any_real_name() -> None:
    body = fixture("slack", "team_join")
    user = body["event"]["user"]
    user["real_name"] = ""
    user["profile"]["real_name"] = None
    [fact] = slack_facts(body)
    assert fact.name is None
    del user["profile"]
    [fact] = slack_facts(body)
    assert (fact.email, fact.name) == (None, None)


@pytest.mark.parametrize(
    "event_type", ["message", "app_mention", "reaction_added", "user_huddle_changed"]
)
def test_slack_unmapped_types_state_nothing(event_type: str) -> None:
    assert slack_facts(fixture("slack", "team_join"), event_type) == []


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda b: b.pop("event"), "`event`"),
        (lambda b: b["event"].update(user="U07JANEDOE1"), r"\$.event.user"),
        (lambda b: b["event"]["user"].pop("id"), "`id`"),
        (lambda b: b["event"]["user"]["profile"].update(email=False), "email"),
    ],
)
def test_slack_broken_payloads_are_mapping_errors(edit: Any, reason: str) -> None:
    body = fixture("slack", "user_change")
    edit(body)
    with pytest.raises(MappingError, match=reason):
        slack_facts(body, "user_change")


# --- FramerAuth ----------------------------------------------------------------------------


def framer_facts(body: dict[str, Any], occurred_at: datetime | None = None) -> list[Any]:
    event = logged("framerauth", body, body["type"], FRAMER_MSG_ID, occurred_at)
    return facts_for(event, CATALOG)


FRAMER_USER = "usr_01J4F6W8ZK3N5Q7R9T1V3X5Z7B"
FRAMER_KEY = f"framerauth:{FRAMER_MSG_ID}"


def test_framerauth_user_created() -> None:
    assert framer_facts(fixture("framerauth", "user_created")) == [
        IdentitySeen(
            provider="framerauth",
            identity_id=FRAMER_USER,
            email="kathleen.booth@example.com",
            name="Kathleen Booth",
            deleted=False,
            at=datetime(2024, 8, 1, 10, 20, 30, 123456, tzinfo=UTC),
            event_key=FRAMER_KEY,
        )
    ]


def test_framerauth_user_updated_with_an_offset_timestamp() -> None:
    [fact] = framer_facts(fixture("framerauth", "user_updated"))
    assert fact == IdentitySeen(
        provider="framerauth",
        identity_id=FRAMER_USER,
        email="kathleen@booth.example",
        name="Kathleen H. V. Booth",
        deleted=False,
        at=datetime(2024, 8, 2, 5, 0, tzinfo=UTC),
        event_key=FRAMER_KEY,
    )
    assert fact.at.tzinfo is UTC


def test_framerauth_user_deleted_without_email() -> None:
    assert framer_facts(fixture("framerauth", "user_deleted")) == [
        IdentitySeen(
            provider="framerauth",
            identity_id=FRAMER_USER,
            email=None,
            name=None,
            deleted=True,
            at=datetime(2024, 9, 15, 16, 45, tzinfo=UTC),
            event_key=FRAMER_KEY,
        )
    ]


def test_framerauth_at_falls_back_to_the_log() -> None:
    body = fixture("framerauth", "user_created")
    del body["timestamp"]
    occurred = datetime(2024, 8, 1, 10, 20, 31, tzinfo=UTC)
    assert framer_facts(body, occurred)[0].at == occurred
    body["timestamp"] = "yesterday"
    assert framer_facts(body)[0].at == RECEIVED


def test_framerauth_numeric_user_id() -> None:
    body = fixture("framerauth", "user_created")
    body["data"]["id"] = 42
    assert framer_facts(body)[0].identity_id == "42"


@pytest.mark.parametrize("event_type", ["session.created", "user.signed_in", "site.updated"])
def test_framerauth_unmapped_types_state_nothing(event_type: str) -> None:
    body = fixture("framerauth", "user_created")
    body["type"] = event_type
    assert framer_facts(body) == []


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda b: b.pop("data"), "`data`"),
        (lambda b: b["data"].pop("id"), "`id`"),
        (lambda b: b["data"].update(id=""), r"\$.data.id"),
        (lambda b: b["data"].update(email=7), "email"),
        (lambda b: b.update(data=[]), r"\$.data"),
    ],
)
def test_framerauth_broken_payloads_are_mapping_errors(edit: Any, reason: str) -> None:
    body = fixture("framerauth", "user_deleted")
    edit(body)
    with pytest.raises(MappingError, match=f"framerauth user.deleted: .*{reason}"):
        framer_facts(body)


# --- all providers -------------------------------------------------------------------------


def test_mapped_types_are_documented() -> None:
    assert set(MAPPED_EVENT_TYPES) == {"stripe", "lemonsqueezy", "slack", "framerauth"}
    assert MAPPED_EVENT_TYPES["slack"] == {"team_join", "user_change"}
    assert MAPPED_EVENT_TYPES["framerauth"] == {"user.created", "user.updated", "user.deleted"}


def test_unknown_provider_states_nothing() -> None:
    event = logged("github", b"{}", "push", "d1")
    assert facts_for(event, CATALOG) == []


ALL_FIXTURES = sorted(EVENTS.glob("*/*.json"))


def _envelope(provider: str, body: bytes) -> Envelope:
    adapter = resolve(provider)
    assert adapter is not None
    headers = {"webhook-id": FRAMER_MSG_ID, "webhook-timestamp": "1700000000"}
    envelope = adapter.parse(body, headers)
    assert isinstance(envelope, Envelope)
    return envelope


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixtures_map_like_the_intake_logs_them(path: Path) -> None:
    """Through the real adapter, every fixture is of a mapped type, and every fact's ``at``
    equals the envelope's occurred_at (both read the same provider time)."""
    provider = path.parent.name
    body = path.read_bytes()
    envelope = _envelope(provider, body)
    assert envelope.event_type in MAPPED_EVENT_TYPES[provider]
    event = LoggedEvent(9, provider, envelope.event_id, envelope.event_type, None, RECEIVED, body)
    for fact in facts_for(event, CATALOG):
        assert fact.at == envelope.occurred_at
        assert fact.at.tzinfo is UTC
        assert fact.event_key == f"{provider}:{envelope.event_id}"


# Hypothesis: whatever the body of a mapped event type, mapping gives facts or a MappingError.

MAPPED_PAIRS = sorted(
    (provider, event_type)
    for provider, event_types in MAPPED_EVENT_TYPES.items()
    for event_type in event_types
)
FIELD_NAMES = sorted(
    {
        *("id", "type", "created", "data", "object", "customer", "email", "name", "items"),
        *("price", "plan", "product", "status", "subscription", "customer_details"),
        *("customer_email", "cancel_at_period_end", "current_period_end", "parent"),
        *("subscription_details", "meta", "event_name", "attributes", "customer_id"),
        *("user_email", "user_name", "first_order_item", "product_id", "variant_id"),
        *("refunded", "cancelled", "renews_at", "ends_at", "updated_at", "created_at"),
        *("subscription_id", "event", "event_time", "user", "profile", "real_name"),
        *("timestamp", "deleted"),
    }
)
INTERESTING = [
    *SUBSCRIPTION_STATUSES,
    *("on_trial", "cancelled", "incomplete_expired", "paid", "refunded", "partial_refund"),
    *("cus_1", "sub_1", "price_1", "prod_1", "A@B.example", " ", ""),
    *("2024-05-24T14:15:06.000000Z", "2024-05-24", "0001-01-01T00:00:00+01:00"),
    *("9999-12-31T23:59:59-01:00", "not a time"),
]
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, -1, 1_718_203_302, 2**63, -(2**63), 10**15])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(INTERESTING)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=4), children, max_size=6)
    ),
    max_leaves=30,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated_fixture(draw: st.DrawFn, provider: str) -> bytes:
    """A real fixture of ``provider`` with one value replaced by arbitrary JSON, or deleted."""
    path = draw(st.sampled_from(sorted(EVENTS.glob(f"{provider}/*.json"))))
    body = json.loads(path.read_text())
    target_path = draw(st.sampled_from(_paths(body)))
    replacement = draw(json_values)
    if not target_path:
        body = replacement
    else:
        parent = body
        for step in target_path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[target_path[-1]]
        else:
            parent[target_path[-1]] = replacement
    return json.dumps(body, allow_nan=False).encode()


@st.composite
def mapped_events(draw: st.DrawFn) -> LoggedEvent:
    provider, event_type = draw(st.sampled_from(MAPPED_PAIRS))
    body = draw(
        st.one_of(
            mutated_fixture(provider),
            json_values.map(lambda v: json.dumps(v, allow_nan=False).encode()),
            st.binary(max_size=40),
        )
    )
    occurred_at = draw(st.none() | st.just(datetime(2024, 1, 1, tzinfo=UTC)))
    return logged(provider, body, event_type, "e1", occurred_at)


FACT_TYPES = (
    IdentitySeen,
    SubscriptionObserved,
    SubscriptionLinked,
    PaymentObserved,
    OrderObserved,
)
SOME_CATALOG = parse_catalog('[stripe]\nprice_1 = "pro"\n[lemonsqueezy]\n"1" = "course"\n')


@settings(max_examples=600, deadline=None)
@given(mapped_events())
def test_mapping_never_raises_anything_but_mapping_error(event: LoggedEvent) -> None:
    reason = None
    try:
        found = facts_for(event, SOME_CATALOG)
    except MappingError as exc:
        reason, found = str(exc), []
    if reason is not None:
        assert reason.startswith(f"{event.provider} {event.event_type}: ")
    for fact in found:
        assert isinstance(fact, FACT_TYPES)
        assert fact.provider == event.provider
        assert fact.event_key == f"{event.provider}:e1"
        assert fact.at.tzinfo is UTC
        if isinstance(fact, SubscriptionObserved):
            assert fact.status in SUBSCRIPTION_STATUSES
            assert fact.current_period_end is None or fact.current_period_end.tzinfo is UTC
        if isinstance(fact, IdentitySeen | SubscriptionObserved | SubscriptionLinked):
            assert fact.email is None or fact.email == fact.email.strip().lower()
