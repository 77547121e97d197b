"""The Connect dialect's events side: EventBridge contact events to ended / wrapping-up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events import Event, EventType, Rejection, RejectReason
from streams.platforms.connect.events import ConnectEvents
from tests.platforms.connect.fixtures import fixture, raw

EVENTS = ConnectEvents()
CONTACT = "11111111-2222-3333-4444-555555555555"
AGENT = "99999999-8888-7777-6666-555555555555"
QUEUE = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def decode(doc: Any) -> tuple[Event, ...] | Rejection:
    return EVENTS.decode(orjson.dumps(doc))


def test_disconnected_with_an_agent_is_ended_and_wrapping_up_of_one_leg() -> None:
    events = EVENTS.decode(raw("disconnected.json"))
    assert isinstance(events, tuple)
    ended, wrapping = events
    assert (ended.type, wrapping.type) == (EventType.ENDED, EventType.WRAPPING_UP)
    for event in events:
        assert (event.interaction_id, event.leg_id, event.key) == (CONTACT, None, CONTACT)
        assert (event.agent_id, event.queue_id, event.media_type) == (AGENT, QUEUE, "voice")
        assert event.occurred_at == at("2021-08-04T17:43:47.512Z")  # disconnectTimestamp
    assert ended.event_id == "5b2f1a7e-8f0c-4d3e-9a51-0c1d2e3f4a5b:ended"
    assert wrapping.event_id == "5b2f1a7e-8f0c-4d3e-9a51-0c1d2e3f4a5b:wrapping-up"


def test_completed_pairs_the_same_leg_again_with_the_acw_start_time() -> None:
    disconnected = EVENTS.decode(raw("disconnected.json"))
    completed = EVENTS.decode(raw("completed-after-acw.json"))
    assert isinstance(disconnected, tuple) and isinstance(completed, tuple)
    assert [e.type for e in completed] == [EventType.ENDED, EventType.WRAPPING_UP]
    assert {e.key for e in completed} == {e.key for e in disconnected}
    assert completed[1].occurred_at == at("2021-08-04T17:43:48.020Z")
    # Not "wrapped": ACW ending says nothing of the attribute.
    assert all(e.type is not EventType.WRAPPED for e in completed)
    assert {e.event_id for e in completed}.isdisjoint(e.event_id for e in disconnected)


def test_a_transferred_contact_is_its_own_leg_of_the_initial_contact() -> None:
    events = EVENTS.decode(raw("transfer-disconnected-pascal-case.json"))
    assert isinstance(events, tuple) and len(events) == 2
    leg = events[0]
    assert leg.interaction_id == CONTACT
    assert leg.leg_id == "22222222-3333-4444-5555-666666666666"
    assert leg.key == f"{CONTACT}/22222222-3333-4444-5555-666666666666"
    assert leg.agent_id == "44444444-5555-6666-7777-888888888888"  # from AgentInfo.AgentArn
    assert leg.queue_id == "ffffffff-0000-1111-2222-333333333333"


@pytest.mark.parametrize("name", [
    "connected-to-agent.json", "disconnected-no-agent.json", "contact-lens-state-change.json",
])
def test_records_without_an_agent_leg_ending_yield_nothing(name: str) -> None:
    assert EVENTS.decode(raw(name)) == ()


def test_a_bare_detail_decodes_like_the_envelope() -> None:
    doc = fixture("disconnected.json")
    events = decode(doc["detail"])
    assert isinstance(events, tuple)
    envelope = EVENTS.decode(raw("disconnected.json"))
    assert isinstance(envelope, tuple)
    assert [(e.type, e.key, e.occurred_at, e.queue_id) for e in events] == \
        [(e.type, e.key, e.occurred_at, e.queue_id) for e in envelope]
    assert events[0].event_id == f"{CONTACT}:DISCONNECTED:ended"


def test_new_event_types_and_lower_case_types_are_handled() -> None:
    doc = fixture("disconnected.json")
    doc["detail"]["eventType"] = "SOMETHING_NEW"
    assert decode(doc) == ()
    doc["detail"]["eventType"] = "disconnected"
    assert isinstance(decode(doc), tuple) and len(decode(doc)) == 2  # type: ignore[arg-type]


def test_the_envelope_time_stands_in_for_a_missing_disconnect_timestamp() -> None:
    doc = fixture("disconnected.json")
    del doc["detail"]["disconnectTimestamp"]
    events = decode(doc)
    assert isinstance(events, tuple) and events[0].occurred_at == at("2021-08-04T17:43:48Z")


@pytest.mark.parametrize(("change", "reason"), [
    (lambda d: d.update(source="aws.ec2"), RejectReason.UNKNOWN_TYPE),
    (lambda d: d.update(detail=[]), RejectReason.WRONG_TYPE),
    (lambda d: d["detail"].pop("contactId"), RejectReason.MISSING_FIELD),
    (lambda d: d["detail"].update(contactId="../../x"), RejectReason.UNSAFE_ID),
    (lambda d: d["detail"].update(initialContactId="a/b"), RejectReason.UNSAFE_ID),
    (lambda d: d["detail"].update(contactId=7), RejectReason.WRONG_TYPE),
    (lambda d: d["detail"].update(agentInfo="agent"), RejectReason.WRONG_TYPE),
    (lambda d: d["detail"].update(disconnectTimestamp="yesterday"), RejectReason.BAD_TIMESTAMP),
    (lambda d: d["detail"].update(disconnectTimestamp="2021-08-04T17:43:47"),
     RejectReason.BAD_TIMESTAMP),
    (lambda d: (d["detail"].pop("disconnectTimestamp"), d.pop("time")),
     RejectReason.MISSING_FIELD),
])
def test_malformed_records_are_rejected_with_a_reason(change: Any, reason: RejectReason) -> None:
    doc = fixture("disconnected.json")
    change(doc)
    rejected = decode(doc)
    assert isinstance(rejected, Rejection) and rejected.reason is reason, rejected


@pytest.mark.parametrize(("value", "reason"), [
    (None, RejectReason.NOT_JSON), (b"{", RejectReason.NOT_JSON),
    (b"[1]", RejectReason.NOT_OBJECT), (b'{"a": 1}', RejectReason.MISSING_FIELD),
    (b" " * (256 * 1024 + 1), RejectReason.TOO_LARGE),
])
def test_unusable_values_are_rejected(value: bytes | None, reason: RejectReason) -> None:
    rejected = EVENTS.decode(value)
    assert isinstance(rejected, Rejection) and rejected.reason is reason


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats()
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=5),
    max_leaves=20,
)
_KEYS = ["eventType", "contactId", "initialContactId", "agentInfo", "AgentInfo", "queueInfo",
         "disconnectTimestamp", "channel"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_decode_never_raises_on_arbitrary_input(value: bytes | str) -> None:
    result = EVENTS.decode(value)
    assert isinstance(result, tuple | Rejection)


@settings(max_examples=400, deadline=None)
@given(key=st.sampled_from(_KEYS), value=_JSON,
       agent_key=st.sampled_from(["agentArn", "afterContactWorkStartTimestamp", "AgentArn"]),
       agent_value=_JSON, envelope=st.booleans())
def test_decode_never_raises_on_mutated_contact_events(key: str, value: Any, agent_key: str,
                                                        agent_value: Any,
                                                        envelope: bool) -> None:
    doc = fixture("completed-after-acw.json")
    doc["detail"]["agentInfo"][agent_key] = agent_value
    doc["detail"][key] = value
    result = decode(doc if envelope else doc["detail"])
    assert isinstance(result, tuple | Rejection)
    if isinstance(result, tuple):
        assert len(result) in (0, 2)
        assert all(e.interaction_id and "/" not in e.interaction_id for e in result)
