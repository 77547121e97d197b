"""The process-wide request budget: a token bucket plus the server's ``Retry-After`` pause.

:meth:`RateLimiter.reserve` books the next free slot and says how long the caller must
wait for it (GCRA, the "virtual scheduling" form of a token bucket): ``burst`` requests
may go at once, then one every ``1/rate`` seconds, first come first served. The default
burst is 1 (even spacing), so any one-second window holds at most ``rate`` requests
whatever window the platform counts its quota in (a full bucket of ``rate`` would let
nearly ``2 * rate`` through in the first second). Booking
instead of polling keeps waiters in order and lets the caller wait however it likes (the
dispatcher's wait also ends early when a delivery is cancelled). A 429's ``Retry-After``
pauses every request of the process, since the quota it reports is shared.

Hand-rolled rather than aiolimiter's ``AsyncLimiter`` (a well-kept leaky bucket): that
one schedules wake-ups on the event loop's own clock, so it can be neither driven by a
fake clock in tests nor paused by a server answer, and its waiters cannot be told to
stop early; the arithmetic below is a dozen lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reservation:
    """A booked request slot: wait ``delay`` seconds; ``source`` says which limit held it."""

    delay: float
    source: str  # "client" (token bucket) or "server" (Retry-After pause)


class RateLimiter:
    """Token bucket of ``rate`` requests/s and ``burst`` capacity, on a monotonic clock."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self._interval = 1.0 / rate
        self._tolerance = (self.burst - 1.0) * self._interval
        self._clock = clock
        self._tat = clock()  # theoretical arrival time of the next request
        self._paused_until = float("-inf")

    def reserve(self) -> Reservation:
        """Book one request slot; the caller must wait the returned delay before sending."""
        now = self._clock()
        bucket_at = max(now, self._tat - self._tolerance)
        start = max(bucket_at, self._paused_until)
        self._tat = max(self._tat, start) + self._interval
        return Reservation(start - now, "server" if start > bucket_at else "client")

    def book(self) -> float:
        """Book one slot now for a request sent later; returns its time (monotonic)."""
        now = self._clock()
        return now + self.reserve().delay

    def until(self, at: float) -> float:
        """Seconds from now until ``at`` (monotonic), never negative."""
        return max(0.0, at - self._clock())

    def pause_until(self, when: float) -> None:
        """Hold every request until ``when`` (monotonic clock), e.g. after a 429."""
        self._paused_until = max(self._paused_until, when)
