"""Times and windows of ``wrapup replay``: forms accepted, one-line errors for the rest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.replay.errors import ReplayError
from streams.replay.timespec import TimeSpecError, Window, format_time, parse_duration, parse_time

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-25T10:00:00Z", NOW - 7200),
    ("2026-11-25T10:00:00.250Z", NOW - 7200 + 0.25),
    ("2026-11-25T11:00:00+01:00", NOW - 7200),
    ("2026-11-25 10:00", NOW - 7200),          # no zone: UTC
    ("now", NOW),
    ("-2h", NOW - 7200),
    ("2h ago", NOW - 7200),
    ("30m ago", NOW - 1800),
    ("- 90s", NOW - 90),
    ("1h30m ago", NOW - 5400),
    ("1d ago", NOW - 86400),
    ("+5m", NOW + 300),
])
def test_parse_time_accepts_iso_and_relative_forms(text: str, expected: float) -> None:
    assert parse_time(text, NOW) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["yesterday", "", "2h", "-2x", "2026-13-01T00:00:00Z", "ago"])
def test_parse_time_rejects_anything_else_with_one_line(text: str) -> None:
    with pytest.raises(TimeSpecError) as info:
        parse_time(text, NOW)
    assert "\n" not in str(info.value) and repr(text) in str(info.value)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("30m", 1800), ("1h30m", 5400), ("2d", 172800), ("1w", 604800), ("45", 45),
    ("0.5h", 1800),
])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-5m", "soon", "5 minutes", "nan", "inf", ""])
def test_parse_duration_rejects_bad_values(text: str) -> None:
    with pytest.raises(TimeSpecError):
        parse_duration(text)


def test_window_accepts_a_past_range_and_an_open_end() -> None:
    assert Window.parse("-2h", "-1h", NOW) == Window(NOW - 7200, NOW - 3600)
    assert Window.parse("-2h", None, NOW) == Window(NOW - 7200, None)
    assert Window.parse("now", None, NOW).since == NOW


@pytest.mark.parametrize(("since", "until", "message"), [
    ("+1h", None, "--since 2026-11-25T13:00:00.000Z is in the future"),
    ("-1h", "+1h", "--until 2026-11-25T13:00:00.000Z is in the future"),
    ("-1h", "-2h", "--until 2026-11-25T10:00:00.000Z is not after "
                   "--since 2026-11-25T11:00:00.000Z"),
    ("-1h", "-1h", "is not after"),
])
def test_window_rejects_the_future_and_an_end_before_the_start(
    since: str, until: str | None, message: str,
) -> None:
    with pytest.raises(ReplayError, match=message):
        Window.parse(since, until, NOW)


def test_format_time_is_utc_with_milliseconds() -> None:
    assert format_time(NOW + 0.5) == "2026-11-25T12:00:00.500Z"
    assert parse_time(format_time(NOW + 0.5), 0) == NOW + 0.5


@given(st.floats(min_value=0, max_value=4e9) | st.integers(0, 4 * 10**9).map(lambda s: s - 5e-7))
def test_format_time_equals_datetime_s_rendering_to_the_millisecond(epoch: float) -> None:
    # The fast path formats each second once; the result must be what datetime gives,
    # rounding of microseconds (and its carry into the next second) included.
    expected = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert format_time(epoch) == expected
