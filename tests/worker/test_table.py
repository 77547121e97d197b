"""The table's value encoding: compact, exact-size, whole milliseconds, and reading the
earlier encodings."""

from __future__ import annotations

import sys

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.join import InteractionState, Status
from streams.outcomes import Outcome
from streams.worker.table import decode_state, encode_state, scan


def _done(iid: str = "i-1", partition: int = 2, **changes: object) -> InteractionState:
    state = InteractionState(
        iid, Status.DONE, 1700000000.25, 1700021600.5, partition, 1700000000.0,
        1700000001.0, None, None, "c-renewals", "q-sales", "a-1", None, "wc-renewal",
        "Renewal - auto", 1700000001.5, Outcome.APPLIED, "applied")
    return state._replace(**changes)


@pytest.mark.parametrize("state", [
    _done(),
    _done(leg_id="leg-9", communication_id="comm-3", media_type="voice"),
    _done(status=Status.PENDING, outcome=None, reason=None, code_id=None, code_label=None,
          paired_at=None),
    _done(wrapped_at=1700000002.0, wrapped_by="agent", acw_deadline=1700000031.0),
])
def test_round_trip(state: InteractionState) -> None:
    assert decode_state(encode_state(state)) == state


_times = st.floats(min_value=1e9, max_value=4e9, allow_nan=False)
_maybe = st.none() | _times


@given(first=_times, expires=_times, ended=_maybe, wrapping=_maybe, wrapped=_maybe,
       deadline=_maybe, paired=_maybe)
def test_every_time_survives_to_the_millisecond(first: float, expires: float,
                                                 ended: float | None, wrapping: float | None,
                                                 wrapped: float | None, deadline: float | None,
                                                 paired: float | None) -> None:
    state = _done(first_seen_at=first, expires_at=expires, ended_at=ended,
                  wrapping_up_at=wrapping, wrapped_at=wrapped, acw_deadline=deadline,
                  paired_at=paired)
    back = decode_state(encode_state(state))
    assert back is not None
    for name in ("first_seen_at", "expires_at", "ended_at", "wrapping_up_at", "wrapped_at",
                 "acw_deadline", "paired_at"):
        want, got = getattr(state, name), getattr(back, name)
        assert (want is None) == (got is None), name
        if want is not None:
            assert abs(got - want) <= 0.0005 + 1e-9 * want, name
    assert back._replace(**{f: getattr(state, f) for f in state._fields
                            if f.endswith("_at") or f == "acw_deadline"}) == state
    assert encode_state(back) == encode_state(state)  # stable once rounded


def test_reads_version_1_values_with_epoch_second_floats() -> None:
    state = _done(first_seen_at=1700000000.123456, wrapped_at=1700000002.000001)
    values: list[object] = list(state)
    values[1], values[16] = state.status.value, "applied"
    assert decode_state(orjson.dumps([1, *values])) == state


def test_values_are_exact_size_and_compact() -> None:
    state = _done()
    raw = encode_state(state)
    assert raw.startswith(b"[2,")
    assert not raw.endswith(b"null]")  # trailing unset fields are left out
    old = orjson.dumps(state.to_dict())
    assert len(raw) < 0.6 * len(old)
    # orjson's own result keeps its write buffer; the table's value does not.
    assert sys.getsizeof(raw) <= len(raw) + 64


def test_reads_values_of_the_earlier_json_object_encoding() -> None:
    state = _done(leg_id="leg-1")
    assert decode_state(orjson.dumps(state.to_dict())) == state
    legacy = {k: v for k, v in state.to_dict().items()
              if k not in ("leg_id", "communication_id", "media_type")}
    assert decode_state(orjson.dumps(legacy)) == state._replace(leg_id=None)


def test_missing_entry_and_unknown_encodings() -> None:
    assert decode_state(None) is None
    with pytest.raises(ValueError):
        decode_state(b"[3,\"i-1\"]")
    with pytest.raises(ValueError):
        decode_state(orjson.dumps([1, *["x"] * 40]))


def test_scan_sorts_states_by_partition_in_one_pass() -> None:
    items = [
        (b"a", encode_state(_done("a", 0))),
        (b"b", encode_state(_done("b", 1, status=Status.DISPATCHING, outcome=None))),
        (b"c", encode_state(_done("c", 1))),
        (b"d", encode_state(_done("d", 3))),  # not asked for
    ]
    found = scan(items, {0, 1, 2})
    assert sorted(found) == [0, 1, 2]
    assert found[0].entries == [(b"a", 1700021600.5)]
    assert [k for k, _ in found[1].entries] == [b"b", b"c"]
    assert found[1].counts == {Status.DISPATCHING: 1, Status.DONE: 1}
    assert found[1].dispatching == [b"b"]
    assert found[2].entries == [] and found[2].dispatching == []
