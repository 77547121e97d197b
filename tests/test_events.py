"""The event parser: accepted shapes, every rejection reason, and that it never raises."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events import (
    MAX_EVENT_BYTES,
    MAX_ID_LENGTH,
    Event,
    EventType,
    Rejection,
    RejectReason,
    _Invalid,
    _parse_checked,
    _parse_plain,
    encode_event,
    is_ignorable,
    parse_event,
)

TS_ISO = "2026-11-25T10:00:00.120Z"
TS_SECONDS = datetime(2026, 11, 25, 10, 0, 0, 120_000, tzinfo=UTC).timestamp()


def doc(
    type_: str = "interaction:ended", data: Any = None, **top: Any
) -> dict[str, Any]:
    """A valid wire document, with top-level fields and data overridable."""
    out: dict[str, Any] = {
        "id": "evt-1",
        "type": type_,
        "timestamp": TS_ISO,
        "data": {"id": "int-42", "agentId": "a-7", "queueId": "q-sales", "campaignId": "c-ren"},
    }
    if data is not None:
        out["data"] = data
    out.update(top)
    return out


def parse(value: Any) -> Event | Rejection:
    return parse_event(orjson.dumps(value))


def accepted(value: Any) -> Event:
    result = parse(value)
    assert isinstance(result, Event), result
    return result


def rejected(value: Any, reason: RejectReason) -> Rejection:
    """Assert a rejection; bytes and str are raw input, anything else is JSON-encoded first."""
    result = parse_event(value) if isinstance(value, bytes | str) else parse(value)
    assert isinstance(result, Rejection), result
    assert result.reason is reason, result
    return result


# --- accepted shapes -------------------------------------------------------------------------


def test_ended_event_carries_all_fields() -> None:
    data = {
        "id": "int-42",
        "agentId": "a-7",
        "queueId": "q-sales",
        "campaignId": "c-ren",
        "acwDeadline": "2026-11-25T10:02:00Z",
    }
    event = accepted(doc("interaction:ended", data))
    assert event == Event(
        event_id="evt-1",
        type=EventType.ENDED,
        interaction_id="int-42",
        occurred_at=TS_SECONDS,
        agent_id="a-7",
        queue_id="q-sales",
        campaign_id="c-ren",
        acw_deadline=datetime(2026, 11, 25, 10, 2, tzinfo=UTC).timestamp(),
    )


def test_wrapping_up_event() -> None:
    assert accepted(doc("interaction:wrapping-up")).type is EventType.WRAPPING_UP


@pytest.mark.parametrize("state", ["wrapping-up", "wrapping_up", "WrapUp", " ACW ", "wrapping"])
@pytest.mark.parametrize("key", ["state", "newState"])
def test_state_change_to_wrapping_up(state: str, key: str) -> None:
    event = accepted(doc("interaction:state-changed", {"id": "int-1", key: state}))
    assert event.type is EventType.WRAPPING_UP
    assert event.interaction_id == "int-1"


@pytest.mark.parametrize("state", ["ended", "Disconnected"])
def test_state_change_to_ended(state: str) -> None:
    event = accepted(doc("interaction:state-changed", {"id": "int-1", "state": state}))
    assert event.type is EventType.ENDED


@pytest.mark.parametrize("state", ["connected", "alerting", "held", ""])
def test_state_change_to_other_state_is_ignorable(state: str) -> None:
    result = rejected(
        doc("interaction:state-changed", {"id": "int-1", "state": state}),
        RejectReason.UNKNOWN_TYPE,
    )
    assert is_ignorable(result)


def test_state_change_without_state_is_rejected() -> None:
    result = rejected(
        doc("interaction:state-changed", {"id": "int-1"}), RejectReason.MISSING_FIELD
    )
    assert not is_ignorable(result)


def test_wrapped_event_carries_source_and_code() -> None:
    event = accepted(
        doc(
            "interaction:wrapped",
            {"id": "int-9", "source": "agent", "wrapupCode": {"id": "wc-1", "label": "x"}},
        )
    )
    assert event.type is EventType.WRAPPED
    assert event.wrapped_by == "agent"
    assert event.wrapup_code_id == "wc-1"


def test_epoch_milliseconds_timestamp() -> None:
    event = accepted(doc(timestamp=1_764_064_800_120))
    assert event.occurred_at == pytest.approx(1_764_064_800.120, abs=1e-6)
    assert accepted(doc(timestamp=1.5e12)).occurred_at == 1.5e9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25T10:00:00.120Z", TS_SECONDS),
        ("2026-11-25T10:00:00.120+00:00", TS_SECONDS),
        ("2026-11-25T11:00:00.120+01:00", TS_SECONDS),
        ("2026-11-25T10:00:00Z", TS_SECONDS - 0.12),
    ],
)
def test_iso_timestamps_with_zone(text: str, expected: float) -> None:
    assert accepted(doc(timestamp=text)).occurred_at == pytest.approx(expected, abs=1e-6)


def test_missing_event_id_falls_back_to_interaction_and_type() -> None:
    value = doc()
    del value["id"]
    assert accepted(value).event_id == "int-42:interaction:ended"
    assert accepted(doc(id="")).event_id == "int-42:interaction:ended"


def test_empty_optional_fields_become_none() -> None:
    event = accepted(doc(data={"id": "i", "agentId": "", "queueId": None, "campaignId": ""}))
    assert (event.agent_id, event.queue_id, event.campaign_id) == (None, None, None)


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview, str])
def test_accepts_every_buffer_kind(kind: type) -> None:
    raw = orjson.dumps(doc())
    value = raw.decode() if kind is str else kind(raw)
    assert isinstance(parse_event(value), Event)


def test_payload_exactly_at_the_limit_is_accepted() -> None:
    base = orjson.dumps(doc(padding=""))
    raw = orjson.dumps(doc(padding="x" * (MAX_EVENT_BYTES - len(base))))
    assert len(raw) == MAX_EVENT_BYTES
    assert isinstance(parse_event(raw), Event)


# --- rejections ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, b"", b"{", b"not json", b"\xff\xfe", "\ud800"])
def test_not_json(raw: bytes | str | None) -> None:
    result = parse_event(raw)
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.NOT_JSON


@pytest.mark.parametrize("raw", [b"[]", orjson.dumps([doc()]), b'"text"', b"42", b"null", b"true"])
def test_not_an_object(raw: bytes) -> None:
    rejected(raw, RejectReason.NOT_OBJECT)


def test_oversized_payload() -> None:
    raw = orjson.dumps(doc(padding="x" * MAX_EVENT_BYTES))
    assert rejected(raw, RejectReason.TOO_LARGE).detail.startswith(f"{len(raw)} bytes")


def test_oversized_text_is_measured_in_bytes() -> None:
    # 40k two-byte characters: fewer characters than the limit, more bytes.
    text = orjson.dumps(doc(padding="é" * 40_000)).decode()
    assert len(text) < MAX_EVENT_BYTES < len(text.encode())
    rejected(text, RejectReason.TOO_LARGE)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"type": "interaction:ended", "timestamp": TS_ISO}, RejectReason.MISSING_FIELD),
        (doc(data=[]), RejectReason.MISSING_FIELD),
        ({k: v for k, v in doc().items() if k != "type"}, RejectReason.MISSING_FIELD),
        (doc(type=""), RejectReason.MISSING_FIELD),
        (doc(data={"agentId": "a"}), RejectReason.MISSING_FIELD),
        (doc(data={"id": ""}), RejectReason.MISSING_FIELD),
        ({k: v for k, v in doc().items() if k != "timestamp"}, RejectReason.MISSING_FIELD),
        (doc(type=7), RejectReason.WRONG_TYPE),
        (doc(data={"id": 42}), RejectReason.WRONG_TYPE),
        (doc(id=42), RejectReason.WRONG_TYPE),
        (doc(id="e" * (MAX_ID_LENGTH + 1)), RejectReason.WRONG_TYPE),
        (doc(data={"id": "i", "queueId": 5}), RejectReason.WRONG_TYPE),
        (doc(data={"id": "i", "campaignId": ["c"]}), RejectReason.WRONG_TYPE),
        (doc(data={"id": "i", "agentId": {"id": "a"}}), RejectReason.WRONG_TYPE),
        (doc(data={"id": "i", "source": 1}), RejectReason.WRONG_TYPE),
        (doc(data={"id": "i", "wrapupCode": "wc-1"}), RejectReason.WRONG_TYPE),
        (doc(data={"id": "i", "wrapupCode": {"id": 3}}), RejectReason.WRONG_TYPE),
        (doc(timestamp=True), RejectReason.WRONG_TYPE),
        (doc(timestamp=[1]), RejectReason.WRONG_TYPE),
        (doc(data={"id": "i", "acwDeadline": {}}), RejectReason.WRONG_TYPE),
        (doc("interaction:state-changed", {"id": "i", "state": 3}), RejectReason.MISSING_FIELD),
        (doc("interaction:exploded"), RejectReason.UNKNOWN_TYPE),
        (doc("ended"), RejectReason.UNKNOWN_TYPE),
    ],
)
def test_rejection_reasons(value: dict[str, Any], reason: RejectReason) -> None:
    result = rejected(value, reason)
    assert not is_ignorable(result)


@pytest.mark.parametrize(
    "type_",
    ["interaction:created", "interaction:connected", "interaction:alerting", "interaction:held"],
)
def test_known_lifecycle_types_are_ignorable(type_: str) -> None:
    assert is_ignorable(rejected(doc(type_), RejectReason.UNKNOWN_TYPE))


def test_unknown_type_is_not_ignorable_even_if_detail_mentions_it() -> None:
    assert not is_ignorable(rejected(doc("ignored type"), RejectReason.UNKNOWN_TYPE))
    assert not is_ignorable(Rejection(RejectReason.NOT_JSON, "ignored type: x"))


@pytest.mark.parametrize(
    "interaction_id",
    [
        "a/b",
        "/",
        "..",
        "a..b",
        ".",
        "a?b",
        "a#b",
        "a%2Fb",
        "a b",
        "a\tb",
        "a\nb",
        "a\n",
        "ä",
        "int-\u00e9",
        "x" * (MAX_ID_LENGTH + 1),
        "a\\b",
        "a;b",
    ],
)
def test_unsafe_interaction_ids(interaction_id: str) -> None:
    rejected(doc(data={"id": interaction_id}), RejectReason.UNSAFE_ID)


@pytest.mark.parametrize("interaction_id", ["x" * MAX_ID_LENGTH, "a.b", "a:b-c_D9", "a.b.c"])
def test_safe_interaction_ids(interaction_id: str) -> None:
    assert accepted(doc(data={"id": interaction_id})).interaction_id == interaction_id


@pytest.mark.parametrize(
    "timestamp",
    [
        "yesterday",
        "2026-11-25T10:00:00",  # no zone
        "2026-13-01T00:00:00Z",
        "",
        0,
        -5,
        1e14,
        -1.5,
        "1969-12-31T23:59:59Z",  # before the epoch, like a non-positive epoch-ms value
        "9999-12-31T23:59:59+00:00",  # beyond the epoch-ms range
    ],
)
def test_bad_timestamps(timestamp: Any) -> None:
    rejected(doc(timestamp=timestamp), RejectReason.BAD_TIMESTAMP)


def test_integer_beyond_64_bits_is_a_bad_timestamp() -> None:
    raw = orjson.dumps(doc(timestamp=0)).replace(b'"timestamp":0', b'"timestamp":' + b"9" * 30)
    rejected(raw, RejectReason.BAD_TIMESTAMP)


def test_bad_acw_deadline() -> None:
    rejected(doc(data={"id": "i", "acwDeadline": "soon"}), RejectReason.BAD_TIMESTAMP)


def test_rejection_detail_is_bounded() -> None:
    long_type = "t" * 10_000
    assert len(rejected(doc(long_type), RejectReason.UNKNOWN_TYPE).detail) < 200
    long_id = "/" * 10_000
    assert len(rejected(doc(data={"id": long_id}), RejectReason.UNSAFE_ID).detail) < 200


# --- properties ------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
interesting_keys = st.sampled_from(
    ["id", "type", "timestamp", "data", "state", "newState", "wrapupCode", "source",
     "queueId", "campaignId", "agentId", "acwDeadline"]
)
interesting_values = (
    json_values
    | st.sampled_from(
        ["interaction:ended", "interaction:wrapping-up", "interaction:state-changed",
         "interaction:wrapped", "acw", "ended", TS_ISO, "int-1", "../x"]
    )
    | st.integers(min_value=-(2**40), max_value=2**50)
)


def _never_raises(raw: bytes | str) -> None:
    result = parse_event(raw)
    assert isinstance(result, Event | Rejection)
    if isinstance(result, Rejection):
        assert isinstance(result.reason, RejectReason)
        assert "\n" not in result.detail or result.reason is RejectReason.NOT_JSON


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_parse_never_raises_on_bytes(raw: bytes) -> None:
    _never_raises(raw)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_parse_never_raises_on_text(raw: str) -> None:
    _never_raises(raw)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_parse_never_raises_on_json_documents(value: Any) -> None:
    _never_raises(json.dumps(value))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        [
            doc(),
            doc("interaction:wrapping-up"),
            doc("interaction:state-changed", {"id": "i-1", "state": "acw"}),
            doc("interaction:wrapped", {"id": "i-1", "source": "api", "wrapupCode": {"id": "w"}}),
        ]
    ),
    st.lists(
        st.tuples(st.booleans(), interesting_keys, interesting_values), min_size=1, max_size=4
    ),
)
def test_parse_never_raises_on_mutated_events(
    base: dict[str, Any], mutations: list[tuple[bool, str, Any]]
) -> None:
    value = json.loads(json.dumps(base))
    for in_data, key, new in mutations:
        target = value["data"] if in_data and isinstance(value.get("data"), dict) else value
        target[key] = new
    _never_raises(json.dumps(value))



PLAIN_BASES = [
    doc(timestamp=1_764_064_800_120),
    doc("interaction:wrapping-up", timestamp=1_764_064_800_120.5),
    doc("interaction:wrapped", {"id": "i-1", "source": "agent", "wrapupCode": {"id": "w"},
                                "acwDeadline": 1_764_064_900_000}, timestamp=1_764_064_800_000),
    doc("interaction:ended", {"id": "i.2", "campaignId": "c", "acwDeadline": 1.5e12},
        timestamp=1.7e12),
]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(PLAIN_BASES),
    st.lists(
        st.tuples(st.booleans(), interesting_keys, interesting_values), min_size=0, max_size=3
    ),
)
def test_the_plain_fast_path_agrees_with_the_checked_path(
    base: dict[str, Any], mutations: list[tuple[bool, str, Any]]
) -> None:
    """Whenever the fast path accepts a document, the field-by-field path accepts it
    too, with an equal event; whenever it declines, the checked path decides."""
    value = json.loads(json.dumps(base))
    for in_data, key, new in mutations:
        target = value["data"] if in_data and isinstance(value.get("data"), dict) else value
        target[key] = new
    decoded = orjson.loads(orjson.dumps(value))
    fast = _parse_plain(decoded)
    try:
        checked: Event | None = _parse_checked(decoded)
    except _Invalid:
        checked = None
    if fast is not None:
        assert fast == checked
    if checked is not None:
        assert parse_event(orjson.dumps(value)) == checked


def test_the_fast_path_takes_the_common_shapes() -> None:
    for base in PLAIN_BASES:
        assert _parse_plain(orjson.loads(orjson.dumps(base))) is not None

safe_ids = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-:.",
    min_size=1,
    max_size=MAX_ID_LENGTH,
).filter(lambda s: ".." not in s and s != ".")
field_texts = st.text(min_size=1, max_size=MAX_ID_LENGTH)
epoch_ms = st.integers(min_value=1, max_value=10**14 - 1)


@st.composite
def events(draw: st.DrawFn) -> Event:
    """Valid events; timestamps are whole milliseconds, as the wire carries them."""
    optional = st.none() | field_texts
    deadline_ms = draw(st.none() | epoch_ms)
    return Event(
        event_id=draw(field_texts),
        type=draw(st.sampled_from(EventType)),
        interaction_id=draw(safe_ids),
        occurred_at=draw(epoch_ms) / 1000.0,
        agent_id=draw(optional),
        queue_id=draw(optional),
        campaign_id=draw(optional),
        acw_deadline=None if deadline_ms is None else deadline_ms / 1000.0,
        wrapup_code_id=draw(optional),
        wrapped_by=draw(optional),
    )


@settings(max_examples=300, deadline=None)
@given(events())
def test_encode_parse_round_trip(event: Event) -> None:
    assert parse_event(encode_event(event)) == event
