"""CXone's events side: get-next-event records as ended / wrapping-up / wrapped events."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events import Event, EventType, Rejection, RejectReason
from streams.platforms.cxone.events import CxoneEvents
from tests.platforms.cxone.fixtures import doc, raw

EVENTS = CxoneEvents()


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def decode(record: object) -> tuple[Event, ...]:
    return decode_raw(orjson.dumps(record))


def decode_raw(value: bytes) -> tuple[Event, ...]:
    decoded = EVENTS.decode(value)
    assert not isinstance(decoded, Rejection), decoded
    return decoded


def test_a_disconnect_with_acw_is_ended_and_wrapping_up_in_the_agent_session() -> None:
    ended, acw = decode_raw(raw("get-next-event-disconnected.json"))
    assert ended.type is EventType.ENDED and acw.type is EventType.WRAPPING_UP
    for event in (ended, acw):
        assert (event.interaction_id, event.leg_id, event.communication_id) == (
            "500001", None, "58070815")
        assert (event.agent_id, event.queue_id, event.campaign_id) == ("12214", "4354", None)
        assert event.key == "500001"
    assert ended.occurred_at == at("2026-11-25T10:04:00.120Z")
    assert acw.occurred_at == at("2026-11-25T10:04:00.200Z")
    assert acw.acw_deadline == pytest.approx(at("2026-11-25T10:04:00.200Z") + 120)
    assert ended.acw_deadline is None and ended.event_id != acw.event_id


def test_an_acw_state_alone_belongs_to_the_contact_the_bridge_names() -> None:
    (acw,) = decode_raw(raw("get-next-event-acw-only.json"))
    assert (acw.type, acw.interaction_id, acw.communication_id) == (
        EventType.WRAPPING_UP, "500001", "58070815")
    assert acw.queue_id is None and acw.agent_id is None


def test_final_state_means_the_contact_is_closed_by_the_platform() -> None:
    ended, closed = decode_raw(raw("get-next-event-closed.json"))
    assert ended.type is EventType.ENDED
    assert (closed.type, closed.wrapped_by, closed.wrapup_code_id) == (
        EventType.WRAPPED, "platform", None)
    assert closed.occurred_at == at("2026-11-25T10:06:00.300Z")


def test_records_without_a_disconnect_or_acw_say_nothing() -> None:
    assert EVENTS.decode(raw("get-next-event-active.json")) == ()
    assert decode({"sessionId": "s", "events": []}) == ()
    # an ACW state tied to no contact: nothing to wrap
    state = doc("get-next-event-acw-only.json")
    del state["contactId"]
    assert decode(state) == ()


def test_a_record_naming_two_contacts_is_refused() -> None:
    rejected = EVENTS.decode(raw("get-next-event-consult.json"))
    assert isinstance(rejected, Rejection) and rejected.reason is RejectReason.WRONG_TYPE
    assert "split it per contact" in rejected.detail
    record = doc("get-next-event-disconnected.json")
    record["contactId"] = "999"
    assert isinstance(EVENTS.decode(orjson.dumps(record)), Rejection)


@pytest.mark.parametrize(("change", "reason"), [
    (lambda r: r.pop("sessionId"), RejectReason.MISSING_FIELD),
    (lambda r: r.update(sessionId="../x"), RejectReason.UNSAFE_ID),
    (lambda r: r.update(sessionId=["s"]), RejectReason.WRONG_TYPE),
    (lambda r: r["events"][0].update(ContactID="a/b"), RejectReason.UNSAFE_ID),
    (lambda r: r["events"][0].pop("ContactID"), RejectReason.MISSING_FIELD),
    (lambda r: r["events"][0].update(LastStateChangeTimeUTC="yesterday"),
     RejectReason.BAD_TIMESTAMP),
    (lambda r: r["events"][0].update(LastStateChangeTimeUTC="2026-11-25T10:04:00"),
     RejectReason.BAD_TIMESTAMP),
    (lambda r: r["events"][1].pop("StartTimeUTC"), RejectReason.MISSING_FIELD),
    (lambda r: r["events"][0].update(Skill={"id": 1}), RejectReason.WRONG_TYPE),
    (lambda r: r.update(events={"Type": "AgentState"}), RejectReason.WRONG_TYPE),
    (lambda r: r.pop("events"), RejectReason.MISSING_FIELD),
    (lambda r: r["events"].append(3), RejectReason.WRONG_TYPE),
])
def test_bad_records_are_rejected_with_a_reason(change: Callable[[Any], object],
                                               reason: RejectReason) -> None:
    record = doc("get-next-event-disconnected.json")
    change(record)
    rejected = EVENTS.decode(orjson.dumps(record))
    assert isinstance(rejected, Rejection) and rejected.reason is reason, rejected


def test_ids_may_be_json_numbers_and_booleans_json_booleans() -> None:
    record = doc("get-next-event-closed.json")
    record["sessionId"] = 58070815
    record["events"][0].update(ContactID=500001, Skill=4354, FinalState=True)
    ended, closed = decode(record)
    assert (ended.interaction_id, ended.queue_id, ended.communication_id) == (
        "500001", "4354", "58070815")
    assert closed.type is EventType.WRAPPED


@pytest.mark.parametrize(("timeout", "deadline"), [("0", None), ("", None), ("abc", None),
                                                   (None, None), (30, 30.0), ("45", 45.0)])
def test_acw_timeout_sets_the_deadline_only_when_positive(timeout: object,
                                                          deadline: float | None) -> None:
    record = doc("get-next-event-acw-only.json")
    record["events"][0]["AcwTimeout"] = timeout
    (acw,) = decode(record)
    expected = None if deadline is None else acw.occurred_at + deadline
    assert acw.acw_deadline == expected


def test_is_acw_false_is_no_wrapping_up() -> None:
    record = doc("get-next-event-acw-only.json")
    record["events"][0]["IsAcw"] = "False"
    assert decode(record) == ()


@pytest.mark.parametrize("value", [None, b"", b"[]", b"not json", b"{" * 10, "\ud800",
                                   b"x" * 70_000])
def test_junk_is_rejected(value: bytes | str | None) -> None:
    assert isinstance(EVENTS.decode(value), Rejection)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=20)
_keys = st.sampled_from(["Type", "ContactID", "Status", "FinalState", "Skill", "IsAcw",
                         "AcwTimeout", "StartTimeUTC", "LastStateChangeTimeUTC"])
_values = st.one_of(_json, st.sampled_from(["CallContactEvent", "AgentState", "Disconnected",
                                            "True", "False", "500001", "120",
                                            "2026-11-25T10:04:00Z", "9999-12-31T23:59:59Z",
                                            "0001-01-01T00:00:00+14:00"]))
_event = st.dictionaries(_keys, _values, max_size=9)
_record = st.fixed_dictionaries({}, optional={
    "sessionId": _values, "agentId": _values, "contactId": _values,
    "events": st.one_of(_json, st.lists(st.one_of(_event, _json), max_size=4))})


@settings(max_examples=400, deadline=None)
@given(st.one_of(_record, _json))
def test_decode_never_raises(record: object) -> None:
    decoded = EVENTS.decode(json.dumps(record))  # stdlib: big integers, NaN as junk input
    assert isinstance(decoded, Rejection | tuple)
    if isinstance(decoded, tuple):
        assert all(isinstance(e, Event) and "/" not in e.interaction_id for e in decoded)


@given(st.one_of(st.binary(max_size=200), st.text(max_size=200), st.none()))
def test_decode_never_raises_on_bytes(value: bytes | str | None) -> None:
    assert isinstance(EVENTS.decode(value), Rejection | tuple)
