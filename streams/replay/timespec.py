"""Points in time for ``wrapup replay``: ISO-8601 or relative, checked against ``now``.

Accepted forms (``now`` is passed in, so parsing is pure)::

    2026-11-25T10:00:00Z   2026-11-25T10:00:00+01:00   2026-11-25 10:00   (no zone: UTC)
    now   -2h   2h ago   30m ago   -90s   1d ago   1h30m ago

A bad value raises :class:`TimeSpecError` whose message is one line.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from streams.replay.errors import ReplayError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)\s*([smhdw]))", re.IGNORECASE)
_RELATIVE = re.compile(
    r"^\s*(?:-\s*(?P<minus>(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+)"
    r"|\+\s*(?P<plus>(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+)"
    r"|(?P<ago>(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+)ago)\s*$",
    re.IGNORECASE,
)
# Clock skew tolerated before a time counts as "in the future" (seconds).
FUTURE_TOLERANCE = 1.0


class TimeSpecError(ReplayError, ValueError):
    """A time or window argument is invalid (message: one line)."""


def parse_duration(text: str) -> float:
    """Seconds of ``90s``, ``30m``, ``1h30m``, ``2d``, or a plain number of seconds."""
    stripped = text.strip()
    try:
        value = float(stripped)
    except ValueError:
        value = -1.0
        if re.fullmatch(r"(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+", stripped, re.IGNORECASE):
            value = sum(float(n) * _UNITS[u.lower()] for n, u in _DURATION.findall(stripped))
    if value < 0 or value != value or value == float("inf"):
        raise TimeSpecError(f"{text!r} is not a duration (e.g. 90s, 30m, 1h30m, 2d)")
    return value


def parse_time(text: str, now: float) -> float:
    """Epoch seconds of an ISO-8601 time, ``now``, or a relative time before ``now``."""
    stripped = text.strip()
    if stripped.lower() == "now":
        return now
    relative = _RELATIVE.match(stripped)
    if relative:
        if relative.group("plus"):
            return now + parse_duration(relative.group("plus"))  # rejected by Window later
        return now - parse_duration(relative.group("minus") or relative.group("ago"))
    try:
        parsed = datetime.fromisoformat(stripped.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise TimeSpecError(
            f"{text!r} is not a time (ISO-8601 like 2026-11-25T10:00:00Z, or -2h, 30m ago)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def format_time(epoch: float) -> str:
    """ISO-8601 UTC with milliseconds, e.g. ``2026-11-25T10:00:00.000Z``.

    Equal to ``datetime.fromtimestamp(epoch, UTC)`` rendered to microseconds and cut to
    milliseconds, but the date and time of day are formatted once per second: a dry run
    prints a line per candidate, hundreds of thousands for a long window.
    """
    whole = math.floor(epoch)
    micros = round((epoch - whole) * 1e6)  # as datetime rounds: half to even
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    return f"{_format_second(whole)}.{micros // 1000:03d}Z"


@functools.lru_cache(maxsize=1024)
def _format_second(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True, slots=True)
class Window:
    """The replayed range of record times: ``[since, until)``; ``until`` None = the end
    offsets taken when the replay starts."""

    since: float
    until: float | None = None

    @classmethod
    def parse(cls, since: str, until: str | None, now: float) -> Window:
        """Parse and validate: nothing in the future, ``until`` after ``since``."""
        start = parse_time(since, now)
        end = parse_time(until, now) if until is not None else None
        if start > now + FUTURE_TOLERANCE:
            raise TimeSpecError(f"--since {format_time(start)} is in the future")
        if end is not None:
            if end > now + FUTURE_TOLERANCE:
                raise TimeSpecError(f"--until {format_time(end)} is in the future")
            if end <= start:
                raise TimeSpecError(
                    f"--until {format_time(end)} is not after --since {format_time(start)}"
                )
        return cls(start, end)
