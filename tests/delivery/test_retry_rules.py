"""Backoff: exponential with full jitter, capped."""

from __future__ import annotations

import random

from streams.delivery.backoff import full_jitter


def test_full_jitter_grows_exponentially_up_to_the_cap() -> None:
    rand = random.Random(7)
    for retry, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (6, 10.0), (30, 10.0)]:
        delays = [full_jitter(retry, base=0.5, cap=10.0, rand=rand) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= ceiling
        assert max(delays) > 0.8 * ceiling  # the whole range is used
