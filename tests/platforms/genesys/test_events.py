"""The Genesys events side on the sample payloads: every shape, transfers, envelopes."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from streams.events import Event, EventType, Rejection, RejectReason
from streams.platforms.genesys import GenesysEvents
from tests.platforms.genesys.fixtures import (
    AGENT_A,
    AGENT_B,
    COMM_A,
    CONVERSATION,
    FIXTURES,
    QUEUE_RETENTION,
    QUEUE_SALES,
    USER_A,
    USER_B,
    doc,
    raw,
)

decode = GenesysEvents().decode


def events(name: str) -> tuple[Event, ...]:
    out = decode(raw(name))
    assert not isinstance(out, Rejection), out
    return out


def at(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def kinds(out: tuple[Event, ...]) -> list[tuple[str | None, EventType]]:
    return [(e.leg_id, e.type) for e in out]


def test_every_fixture_names_its_source_and_decodes() -> None:
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert len(names) >= 15
    for name in names:
        assert "platform-client-sdk-python" in doc(name)["_source"] or \
            "EventBridge" in doc(name)["_source"], name
        assert not isinstance(decode(raw(name)), Rejection), name


def test_a_disconnect_is_ended_only_and_the_customer_yields_nothing() -> None:
    out = events("calls_disconnected.json")
    assert kinds(out) == [(AGENT_A, EventType.ENDED)]
    e = out[0]
    assert (e.interaction_id, e.leg_id, e.key) == (CONVERSATION, AGENT_A,
                                                   f"{CONVERSATION}/{AGENT_A}")
    assert (e.agent_id, e.queue_id, e.media_type, e.communication_id) == (
        USER_A, QUEUE_SALES, "calls", None)
    assert e.occurred_at == at("2026-11-25T10:00:00.120Z")


def test_start_acw_time_is_wrapping_up_with_the_acw_deadline() -> None:
    out = events("calls_acw_started.json")
    assert kinds(out) == [(AGENT_A, EventType.ENDED), (AGENT_A, EventType.WRAPPING_UP)]
    wrapping = out[1]
    assert wrapping.occurred_at == at("2026-11-25T10:00:00.600Z")
    assert wrapping.acw_deadline == pytest.approx(at("2026-11-25T10:00:00.600Z") + 60)


def test_the_platform_timeout_code_is_wrapped_by_the_platform() -> None:
    out = events("calls_wrapped_timeout.json")
    assert kinds(out) == [(AGENT_A, EventType.ENDED), (AGENT_A, EventType.WRAPPED)]
    assert (out[1].wrapup_code_id, out[1].wrapped_by) == ("ININ-WRAP-UP-TIMEOUT", "platform")
    assert out[1].occurred_at == at("2026-11-25T10:01:00.600Z")


def test_any_other_code_is_wrapped_by_someone_unknown() -> None:
    out = events("calls_wrapped_by_agent.json")
    assert [(e.type, e.wrapup_code_id, e.wrapped_by) for e in out][1:] == [
        (EventType.WRAPPED, "wc-sales-sale", "unknown")]


def test_a_participant_that_needs_no_wrapup_yields_nothing() -> None:
    assert events("calls_wrapup_not_required.json") == ()
    assert events("conversation_not_applicable.json") == ()


def test_a_transfer_has_two_legs_each_with_its_own_queue() -> None:
    first = events("queue_calls_transfer.json")
    assert kinds(first) == [(AGENT_A, EventType.ENDED), (AGENT_A, EventType.WRAPPING_UP)]
    assert {e.queue_id for e in first} == {QUEUE_SALES}  # B is still connected: nothing yet
    later = events("queue_calls_transfer_end.json")
    assert kinds(later) == [(AGENT_A, EventType.ENDED), (AGENT_A, EventType.WRAPPED),
                            (AGENT_B, EventType.ENDED), (AGENT_B, EventType.WRAPPING_UP)]
    legs = {e.leg_id: e for e in later if e.type is not EventType.ENDED}
    assert (legs[AGENT_A].queue_id, legs[AGENT_B].queue_id) == (QUEUE_SALES, QUEUE_RETENTION)
    assert (legs[AGENT_B].agent_id, legs[AGENT_B].key) == (USER_B, f"{CONVERSATION}/{AGENT_B}")
    assert all(e.interaction_id == CONVERSATION for e in later)


def test_the_conversation_topic_carries_the_communication() -> None:
    out = events("conversation_acw_pending.json")
    assert kinds(out) == [(AGENT_A, EventType.ENDED), (AGENT_A, EventType.WRAPPING_UP)]
    assert {(e.communication_id, e.media_type, e.agent_id, e.queue_id) for e in out} == {
        (COMM_A, "calls", USER_A, QUEUE_SALES)}
    assert out[1].occurred_at == at("2026-11-25T10:00:00.600Z")
    done = events("conversation_acw_complete.json")
    assert [(e.type, e.wrapup_code_id) for e in done] == [
        (EventType.ENDED, None), (EventType.WRAPPED, "wc-sales-auto")]
    assert done[1].occurred_at == at("2026-11-25T10:00:20.000Z")


def test_the_eventbridge_envelope_reads_like_the_notification() -> None:
    bridged = events("eventbridge_calls_acw_started.json")
    plain = events("calls_acw_started.json")
    assert [e._replace(event_id="") for e in bridged] == [e._replace(event_id="") for e in plain]
    envelope = doc("eventbridge_calls_acw_started.json")
    assert envelope["detail-type"] == "v2.users.{id}.conversations.calls"  # the pattern


def test_detail_events() -> None:
    (end,) = events("eventbridge_detail_user_end.json")
    assert (end.type, end.leg_id, end.communication_id, end.media_type) == (
        EventType.ENDED, AGENT_A, COMM_A, "calls")
    assert end.occurred_at == 1795600800.120
    (acw,) = events("detail_acw.json")  # .acw fires when ACW *ends*: wrapped
    assert (acw.type, acw.wrapup_code_id, acw.wrapped_by) == (
        EventType.WRAPPED, "wc-sales-auto", "unknown")
    (timeout,) = events("detail_wrapup_timeout.json")
    assert (timeout.type, timeout.wrapped_by, timeout.agent_id) == (
        EventType.WRAPPED, "platform", None)
    assert events("detail_user_end_cobrowse.json") == ()  # no wrap-up endpoint for it


def test_other_topics_say_nothing() -> None:
    assert events("unrelated_presence.json") == ()


def test_event_ids_are_deterministic_and_distinct() -> None:
    once, again = events("queue_calls_transfer_end.json"), events("queue_calls_transfer_end.json")
    assert [e.event_id for e in once] == [e.event_id for e in again]
    assert len({e.event_id for e in once}) == len(once)
    # the same notification through EventBridge (same topic and body): the same IDs
    other = events("calls_acw_started.json")
    assert [e.event_id for e in events("eventbridge_calls_acw_started.json")] == [
        e.event_id for e in other]
    assert {e.event_id for e in other}.isdisjoint({e.event_id for e in once})


def _with(name: str, **changes: object) -> bytes:
    d = doc(name)
    d["eventBody"]["participants"][1].update(changes)
    return orjson.dumps(d)


@pytest.mark.parametrize(("raw_value", "reason"), [
    (None, RejectReason.NOT_JSON),
    (b"{nope", RejectReason.NOT_JSON),
    (b"[1, 2]", RejectReason.NOT_OBJECT),
    (b"x" * (600 * 1024), RejectReason.TOO_LARGE),
    (b'{"eventBody": {}}', RejectReason.MISSING_FIELD),
    (b'{"topicName": "v2.users.u.conversations.calls", "eventBody": []}',
     RejectReason.MISSING_FIELD),
    (b'{"detail-type": "v2.users.{id}.conversations.calls", "detail": "x"}',
     RejectReason.MISSING_FIELD),
    (b'{"topicName": "v2.users.u.conversations.calls", "eventBody": {"id": "a/b"}}',
     RejectReason.UNSAFE_ID),
    (b'{"topicName": "v2.users.u.conversations.calls", "eventBody": {"id": "c", '
     b'"participants": {}}}', RejectReason.WRONG_TYPE),
])
def test_malformed_records_are_rejections(raw_value: bytes | None, reason: RejectReason) -> None:
    out = decode(raw_value)
    assert isinstance(out, Rejection) and out.reason is reason, out


def test_malformed_participants_are_rejections() -> None:
    cases = [
        (_with("calls_acw_started.json", id="../x"), RejectReason.UNSAFE_ID),
        (_with("calls_acw_started.json", startAcwTime="yesterday"), RejectReason.BAD_TIMESTAMP),
        (_with("calls_acw_started.json", startAcwTime="2026-11-25T10:00:00"),
         RejectReason.BAD_TIMESTAMP),
        (_with("calls_wrapped_by_agent.json", wrapup="Sale"), RejectReason.WRONG_TYPE),
        (_with("calls_acw_started.json", user={"id": 7}), RejectReason.WRONG_TYPE),
    ]
    for value, reason in cases:
        out = decode(value)
        assert isinstance(out, Rejection) and out.reason is reason, (out, reason)


def test_an_ended_participant_with_no_time_anywhere_is_a_rejection() -> None:
    d = doc("calls_disconnected.json")
    del d["eventBody"]["participants"][1]["endTime"]
    out = decode(orjson.dumps(d))
    assert isinstance(out, Rejection) and out.reason is RejectReason.MISSING_FIELD
    d = doc("eventbridge_calls_acw_started.json")
    del d["detail"]["eventBody"]["participants"][1]["endTime"]
    (ended, _) = events_of(orjson.dumps(d))  # the envelope's timestamp stands in
    assert ended.occurred_at == at("2026-11-25T10:00:00.650Z")


def events_of(value: bytes) -> tuple[Event, ...]:
    out = decode(value)
    assert not isinstance(out, Rejection), out
    return out


def test_a_detail_event_without_a_participant_or_time_is_a_rejection() -> None:
    for field in ("participantId", "eventTime", "mediaType"):
        d = doc("detail_acw.json")
        del d["eventBody"][field]
        out = decode(orjson.dumps(d))
        assert isinstance(out, Rejection) and out.reason is RejectReason.MISSING_FIELD, field
