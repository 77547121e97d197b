"""Fault injection for the simulated API: errors, timeouts, latency, rate limits.

:class:`Chaos` is plain configuration, replaced whole at runtime (``Platform.set_chaos``
or ``POST /_sim/chaos``); one-shot actions (a burst of 429s, expiring every token) live
on the platform. :class:`SlidingWindow` is the request-rate limiter behind 429.
"""

from __future__ import annotations

import math
import zlib
from collections import deque
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

TIMEOUT_MODES = ("hold", "drop")


@dataclass(frozen=True, slots=True)
class Chaos:
    """What goes wrong, and how often (fractions are per API request, 0..1).

    * ``error_fraction``: answer a 5xx from ``error_statuses`` before doing anything.
    * ``timeout_fraction``: do nothing and time out: hold the request ``hold_seconds``
      then answer 504 (``timeout_mode="hold"``), or close the connection (``"drop"``).
    * ``lost_response_fraction``: *apply* a wrap-up POST, then time out the same way: the
      client cannot tell it landed (the case exactly-once delivery must survive).
    * ``latency_seconds`` (+ up to ``latency_jitter_seconds``): added to every API request.
    * ``slow_seconds``: added to every API request of the ``slow_fraction`` of interactions
      that :meth:`is_slow` picks (a stable hash of the ID: the same ones every run), so a
      test can show one slow interaction does not hold up the others.
    * ``rate_limit``: API requests per ``rate_window_seconds`` above which the answer is
      429 with ``Retry-After`` (``retry_after_seconds``, else the time the window frees).
    """

    error_fraction: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    timeout_fraction: float = 0.0
    lost_response_fraction: float = 0.0
    timeout_mode: str = "hold"
    hold_seconds: float = 30.0
    latency_seconds: float = 0.0
    latency_jitter_seconds: float = 0.0
    slow_fraction: float = 0.0
    slow_seconds: float = 0.0
    rate_limit: int | None = None
    rate_window_seconds: float = 1.0
    retry_after_seconds: int | None = None

    def __post_init__(self) -> None:
        for name in ("error_fraction", "timeout_fraction", "lost_response_fraction",
                     "slow_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {value}")
        if self.timeout_mode not in TIMEOUT_MODES:
            raise ValueError(f"timeout_mode must be one of {TIMEOUT_MODES}")
        if any(not 500 <= s <= 599 for s in self.error_statuses) or not self.error_statuses:
            raise ValueError("error_statuses must be non-empty 5xx codes")
        if min(self.hold_seconds, self.latency_seconds, self.latency_jitter_seconds,
               self.slow_seconds) < 0:
            raise ValueError("durations must be non-negative")
        if self.rate_limit is not None and self.rate_limit < 1:
            raise ValueError("rate_limit must be >= 1 (or None for no limit)")
        if self.rate_window_seconds <= 0:
            raise ValueError("rate_window_seconds must be positive")
        if self.retry_after_seconds is not None and self.retry_after_seconds < 0:
            raise ValueError("retry_after_seconds must be non-negative")

    def is_slow(self, interaction_id: str | None) -> bool:
        """True for the stable ``slow_fraction`` share of interaction IDs."""
        if not interaction_id or self.slow_fraction <= 0:
            return False
        return zlib.crc32(interaction_id.encode()) % 10_000 < self.slow_fraction * 10_000

    def updated(self, changes: dict[str, Any]) -> Chaos:
        """A copy with ``changes`` applied; unknown keys raise ``ValueError``."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown chaos settings: {sorted(unknown)}")
        values = dict(changes)
        if "error_statuses" in values:
            values["error_statuses"] = tuple(int(s) for s in values["error_statuses"])
        return replace(self, **values)

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["error_statuses"] = list(self.error_statuses)
        return doc


class SlidingWindow:
    """Admits at most ``limit`` events per ``window`` seconds (clock passed in)."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def admit(self, now: float, limit: int | None, window: float) -> float | None:
        """Record and admit an event; or refuse it, returning seconds until one would pass."""
        while self._times and self._times[0] <= now - window:
            self._times.popleft()
        if limit is not None and len(self._times) >= limit:
            return max(0.0, self._times[0] + window - now)
        self._times.append(now)
        return None

    def usage(self, now: float, window: float) -> tuple[int, float]:
        """(events admitted in the window ending at ``now``, seconds until the oldest of
        them leaves it; 0 when there is none)."""
        while self._times and self._times[0] <= now - window:
            self._times.popleft()
        reset = self._times[0] + window - now if self._times else 0.0
        return len(self._times), max(0.0, reset)


def retry_after_header(wait: float, configured: int | None) -> str:
    """``Retry-After`` in whole seconds (at least 1 unless configured otherwise)."""
    if configured is not None:
        return str(configured)
    return str(max(1, math.ceil(wait)))
