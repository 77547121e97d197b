"""The generic dialect's events side: one record, at most one event, as parse_event says."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from streams.events import Event, EventType, Rejection, RejectReason, parse_event
from streams.platforms.generic import GenericEvents

EVENTS = GenericEvents()


def record(type_: str, **data: object) -> bytes:
    return orjson.dumps({"id": "evt-1", "type": type_, "timestamp": 1_795_600_800_000,
                         "data": {"id": "int-42", **data}})


def test_a_lifecycle_record_is_one_event() -> None:
    decoded = EVENTS.decode(record("interaction:ended", queueId="q-sales"))
    assert isinstance(decoded, tuple)
    (event,) = decoded
    assert (event.type, event.interaction_id, event.queue_id) == (
        EventType.ENDED, "int-42", "q-sales")
    assert decoded == (parse_event(record("interaction:ended", queueId="q-sales")),)


def test_a_state_change_to_wrapping_up_is_a_wrapping_up_event() -> None:
    decoded = EVENTS.decode(record("interaction:state-changed", state="ACW"))
    assert isinstance(decoded, tuple) and [e.type for e in decoded] == [EventType.WRAPPING_UP]


def test_a_type_the_join_does_not_need_yields_nothing() -> None:
    assert EVENTS.decode(record("interaction:connected")) == ()
    assert EVENTS.decode(record("interaction:state-changed", state="held")) == ()


def test_bad_input_is_a_rejection() -> None:
    decoded = EVENTS.decode(b"{not json")
    assert isinstance(decoded, Rejection) and decoded.reason is RejectReason.NOT_JSON
    decoded = EVENTS.decode(record("interaction:exploded"))
    assert isinstance(decoded, Rejection) and decoded.reason is RejectReason.UNKNOWN_TYPE
    decoded = EVENTS.decode(orjson.dumps({"type": "interaction:ended", "timestamp": 1,
                                          "data": {"id": "../x"}}))
    assert isinstance(decoded, Rejection) and decoded.reason is RejectReason.UNSAFE_ID


@given(st.one_of(st.binary(max_size=300), st.none(),
                 st.sampled_from([record("interaction:ended"), record("interaction:wrapped"),
                                  record("interaction:alerting"), record("nope")])))
def test_decode_is_parse_event_as_a_sequence(raw: bytes | None) -> None:
    decoded = EVENTS.decode(raw)
    parsed = parse_event(raw)
    if isinstance(parsed, Event):
        assert decoded == (parsed,)
    elif isinstance(decoded, tuple):
        assert decoded == () and parsed.detail.startswith("ignored type")
    else:
        assert decoded == parsed
