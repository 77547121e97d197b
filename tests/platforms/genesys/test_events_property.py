"""The Genesys decoder never raises, whatever JSON it is given (hypothesis)."""

from __future__ import annotations

import contextlib
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events import Event, Rejection
from streams.platforms.genesys import GenesysEvents
from streams.platforms.genesys.envelope import Invalid
from streams.platforms.genesys.events import _decode

_public = GenesysEvents().decode


def decode(value: bytes | str) -> object:
    """The public decoder, after checking the inner one raises nothing but ``Invalid``
    (so the public one's last-resort guard is never what keeps it from raising)."""
    with contextlib.suppress(Invalid):
        _decode(value)
    return _public(value)

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=8), inner, max_size=4), max_leaves=20)

TOPICS = ["v2.users.u.conversations.calls", "v2.routing.queues.q.conversations.chats",
          "v2.users.u.conversations", "v2.detail.events.conversation.c.user.end",
          "v2.detail.events.conversation.c.acw", "v2.detail.events.conversation.c.wrapup"]
KEYS = ["id", "purpose", "state", "wrapupRequired", "wrapupExpected", "wrapup", "startAcwTime",
        "endAcwTime", "endTime", "wrapupTimeoutMs", "wrapupSkipped", "user", "queue", "userId",
        "queueId", "calls", "afterCallWork", "disconnectedTime"]
participant = st.fixed_dictionaries({}, optional={
    **{k: json_values for k in KEYS},
    "purpose": st.sampled_from(["agent", "user", "customer"]) | json_values,
    "calls": st.lists(st.fixed_dictionaries({}, optional={
        "id": json_values | st.just("comm-1"), "state": json_values | st.just("disconnected"),
        "afterCallWork": st.fixed_dictionaries({}, optional={
            "state": st.sampled_from(["pending", "complete", "skipped"]) | json_values,
            "startTime": json_values, "endTime": json_values}) | json_values,
    }), max_size=2) | json_values,
})
body = st.fixed_dictionaries({}, optional={
    "id": st.just("conv-1") | json_values,
    "participants": st.lists(participant, max_size=3) | json_values,
    "conversationId": st.just("conv-1") | json_values,
    "participantId": st.just("part-1") | json_values,
    "mediaType": st.sampled_from(["VOICE", "CHAT", "COBROWSE"]) | json_values,
    "eventTime": st.integers(-10, 10**14) | json_values,
    "sessionId": json_values, "wrapupCode": json_values,
})


def plausible(topic: str, event_body: Any, bridged: bool, ts: Any) -> bytes:
    note = {"topicName": topic, "version": "2", "eventBody": event_body,
            "metadata": {"CorrelationId": "x"}}
    if not bridged:
        return orjson.dumps(note)
    return orjson.dumps({"version": "0", "detail-type": "pattern",
                         "detail": {**note, "timestamp": ts}})


def _check(out: object) -> None:
    assert isinstance(out, Rejection | tuple)
    if isinstance(out, tuple):
        assert all(isinstance(e, Event) and e.leg_id and len(e.event_id) <= 128 for e in out)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_never_raises(value: Any) -> None:
    _check(decode(orjson.dumps(value)))


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(TOPICS), body, st.booleans(), json_values)
def test_plausible_records_never_raise(topic: str, event_body: Any, bridged: bool,
                                       ts: Any) -> None:
    _check(decode(plausible(topic, event_body, bridged, ts)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_arbitrary_bytes_never_raise(value: bytes | str) -> None:
    _check(decode(value))
