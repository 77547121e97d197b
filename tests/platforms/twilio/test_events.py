"""The twilio dialect's events side: every accepted shape, the mapping, and rejections."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events import Event, EventType, Rejection, RejectReason
from streams.platforms.twilio import TwilioEvents, build
from tests.platforms.twilio.fixtures import TASK, fixture, fixture_bytes
from tests.platforms.twilio.fixtures import settings as twilio_settings

QUEUE_SID = "WQ" + "a1" * 16
WORKER = "WK" + "b2" * 16
EVENTS = TwilioEvents()


def decode(raw: bytes | str, events: TwilioEvents = EVENTS) -> tuple[Event, ...]:
    decoded = events.decode(raw)
    assert isinstance(decoded, tuple), decoded
    return decoded


def test_task_wrapup_callback_is_ended_and_wrapping_up_for_the_task() -> None:
    ended, wrapping = decode(fixture_bytes("callback_task_wrapup.json"))
    assert [ended.type, wrapping.type] == [EventType.ENDED, EventType.WRAPPING_UP]
    for event in (ended, wrapping):
        assert event.interaction_id == TASK and event.leg_id is None
        assert event.key == TASK
        assert event.occurred_at == pytest.approx(1796202000.123)
        assert (event.agent_id, event.queue_id, event.campaign_id) == (
            WORKER, QUEUE_SID, "spring-renewals")
    assert ended.event_id != wrapping.event_id
    assert ended.event_id.startswith("EV")


def test_reservation_wrapup_and_a_wrapping_update_say_the_same() -> None:
    for name in ("callback_reservation_wrapup.json", "callback_task_updated_wrapping.json"):
        kinds = [e.type for e in decode(fixture_bytes(name))]
        assert kinds == [EventType.ENDED, EventType.WRAPPING_UP], name


def test_task_completed_is_wrapped_with_the_reason_as_code() -> None:
    (wrapped,) = decode(fixture_bytes("callback_task_completed.json"))
    assert wrapped.type is EventType.WRAPPED
    assert wrapped.wrapup_code_id == "wc-renewal"
    assert wrapped.wrapped_by == "api"


def test_who_completed_comes_from_an_actor_type_when_there_is_one() -> None:
    doc = fixture("callback_task_completed.json")
    for actor, who in (("worker", "agent"), ("Workspace", "platform"), ("account", "api")):
        (wrapped,) = decode(orjson.dumps({**doc, "ActorType": actor}))
        assert wrapped.wrapped_by == who
    del doc["TaskCompletedReason"]
    (wrapped,) = decode(orjson.dumps(doc))
    assert (wrapped.wrapup_code_id, wrapped.wrapped_by) == (None, None)


def test_other_event_types_yield_nothing() -> None:
    assert EVENTS.decode(fixture_bytes("callback_task_created.json")) == ()
    doc = fixture("callback_task_wrapup.json")
    for kind in ("reservation.accepted", "worker.activity.update", "task.canceled",
                 "reservation.completed"):
        assert EVENTS.decode(orjson.dumps({**doc, "EventType": kind})) == ()
    assert EVENTS.decode(orjson.dumps({**doc, "EventType": "task.updated",
                                       "TaskAssignmentStatus": "assigned"})) == ()


def test_the_form_body_as_posted_reads_like_its_json() -> None:
    assert decode(fixture_bytes("callback_form_body.json")) == decode(
        fixture_bytes("callback_task_wrapup.json"))


def test_event_streams_cloudevents_one_or_a_batch() -> None:
    ended, _ = decode(fixture_bytes("eventstreams_task_wrapup.json"))
    assert ended.interaction_id == TASK and ended.queue_id == QUEUE_SID
    assert ended.occurred_at == pytest.approx(1796202000.123)
    assert ended.event_id.startswith("EV")  # data.sid
    batch = decode(fixture_bytes("eventstreams_batch.json"))
    assert [e.type for e in batch] == [EventType.ENDED, EventType.WRAPPING_UP,
                                       EventType.WRAPPED]
    assert batch[2].wrapup_code_id == "wc-renewal"


def test_queue_by_name_and_campaign_by_path_follow_the_settings() -> None:
    platform = build(twilio_settings(WRAPUP_TWILIO_QUEUE_FIELD="name",
                                     WRAPUP_TWILIO_CAMPAIGN_ATTRIBUTE="conversations.campaign"))
    assert isinstance(platform.events, TwilioEvents)
    ended, _ = decode(fixture_bytes("callback_task_wrapup.json"), platform.events)
    assert (ended.queue_id, ended.campaign_id) == ("Sales", "spring-renewals")
    missing = TwilioEvents(campaign_path=("no", "such"))
    ended, _ = decode(fixture_bytes("callback_task_wrapup.json"), missing)
    assert ended.campaign_id is None


def test_timestamps_milliseconds_seconds_or_iso() -> None:
    doc = fixture("callback_task_wrapup.json")
    del doc["TimestampMs"]
    for value, expected in (("1764666000", 1764666000.0), (1764666000, 1764666000.0),
                            ("1764666000123", 1764666000.123),
                            ("2025-12-02T09:00:00.5Z", 1764666000.5)):
        ended, _ = decode(orjson.dumps({**doc, "Timestamp": value}))
        assert ended.occurred_at == pytest.approx(expected), value


@pytest.mark.parametrize(("change", "reason"), [
    ({"TaskSid": None}, RejectReason.MISSING_FIELD),
    ({"TaskSid": "WT../../Workspaces"}, RejectReason.UNSAFE_ID),
    ({"TaskSid": "WTxyz"}, RejectReason.UNSAFE_ID),
    ({"EventType": None}, RejectReason.MISSING_FIELD),
    ({"TimestampMs": None, "Timestamp": None}, RejectReason.MISSING_FIELD),
    ({"TimestampMs": "soon"}, RejectReason.BAD_TIMESTAMP),
    ({"TimestampMs": None, "Timestamp": "2025-12-02T09:00:00"}, RejectReason.BAD_TIMESTAMP),
    ({"TimestampMs": "-5"}, RejectReason.BAD_TIMESTAMP),
])
def test_a_relevant_event_without_what_the_join_needs_is_rejected(
        change: dict[str, object], reason: RejectReason) -> None:
    doc = fixture("callback_task_wrapup.json")
    for key, value in change.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    rejected = EVENTS.decode(orjson.dumps(doc))
    assert isinstance(rejected, Rejection) and rejected.reason is reason, rejected


@pytest.mark.parametrize(("raw", "reason"), [
    (None, RejectReason.NOT_JSON),
    (b"", RejectReason.NOT_JSON),
    (b"hello", RejectReason.NOT_JSON),
    (b"{nope", RejectReason.NOT_JSON),
    (b"a=%zz&&=", RejectReason.NOT_JSON),
    (b"[1, 2]", RejectReason.NOT_OBJECT),
    (b'[{"type": "com.twilio.taskrouter.task.wrapup"}]', RejectReason.MISSING_FIELD),
    (b'"text"', RejectReason.NOT_OBJECT),
    (b"[" + b"{}," * 100 + b"{}]", RejectReason.TOO_LARGE),
    (b'{"EventType": "task.wrapup", "x": "' + b"a" * 70000 + b'"}', RejectReason.TOO_LARGE),
])
def test_records_of_no_accepted_shape_are_rejected(raw: bytes | None,
                                                   reason: RejectReason) -> None:
    rejected = EVENTS.decode(raw)
    assert isinstance(rejected, Rejection) and rejected.reason is reason, rejected


def test_str_bytearray_and_memoryview_values_decode_alike() -> None:
    raw = fixture_bytes("callback_task_wrapup.json")
    expected = decode(raw)
    assert decode(raw.decode()) == expected
    assert EVENTS.decode(bytearray(raw)) == expected
    assert EVENTS.decode(memoryview(raw)) == expected


_scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats()
            | st.text(max_size=40))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner,
                                                                max_size=4),
    max_leaves=12)
_callback = st.fixed_dictionaries(
    {"EventType": st.sampled_from(["task.wrapup", "reservation.wrapup", "task.completed",
                                   "task.updated", "task.created"]) | _values},
    optional={"TaskSid": st.just(TASK) | _values, "TimestampMs": _values,
              "Timestamp": _values, "TaskAttributes": _values | st.text(max_size=60),
              "TaskQueueSid": _values, "WorkerSid": _values, "TaskCompletedReason": _values,
              "TaskAssignmentStatus": st.sampled_from(["wrapping", "completed"]) | _values,
              "ActorType": _values, "Sid": _values})


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200),
    _callback.map(orjson.dumps),
    _callback.map(lambda d: orjson.dumps({"specversion": "1.0", "type": d.get("EventType"),
                                          "data": d})),
    st.lists(_callback, max_size=3).map(
        lambda ds: orjson.dumps([{"type": "com.twilio.taskrouter.task.wrapup", "data": d}
                                 for d in ds])),
))
def test_decode_never_raises(raw: bytes | str) -> None:
    decoded = EVENTS.decode(raw)
    assert isinstance(decoded, Rejection | tuple)
    if isinstance(decoded, tuple):
        for event in decoded:
            assert event.interaction_id == TASK
            assert event.occurred_at > 0
