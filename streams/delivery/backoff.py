"""Retry delays: exponential backoff with full jitter.

Full jitter (a uniform delay in ``[0, min(cap, base * 2**n)]``) spreads the retries of
many deliveries that failed together, so they do not hit the platform in waves.

Why not tenacity or stamina: a delivery's loop decides per *response* (a 409 may end in
a read-back, a 429 dictates its own delay, a 401 is retried at once after a token
refresh), stops at a per-interaction deadline yet always makes a first attempt, and
waits in a way a cancellation event can cut short. Expressed as their stop/wait/retry
callbacks that is more code than the plain loop in :mod:`.dispatcher`, which uses the
small function here (``Retry-After`` is read by :mod:`streams.platforms.statuses`).
"""

from __future__ import annotations

import random


def full_jitter(
    retry: int, *, base: float, cap: float, rand: random.Random | None = None
) -> float:
    """Delay before retry number ``retry`` (1 = the first retry)."""
    ceiling = min(cap, base * 2.0 ** max(0, retry - 1))
    return (rand or random).uniform(0.0, ceiling)
