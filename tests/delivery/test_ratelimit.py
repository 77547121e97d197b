"""The process-wide token bucket and the server's Retry-After pause."""

from __future__ import annotations

import asyncio

import pytest

from streams.delivery import DeliveryJob
from streams.delivery.ratelimit import RateLimiter
from tests.delivery.fixtures import CODE, START, FakePlatform, VirtualTime, make, reply


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_one_slot_per_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(5, burst=5, clock=clock)
    delays = [limiter.reserve().delay for _ in range(8)]
    assert delays == pytest.approx([0, 0, 0, 0, 0, 0.2, 0.4, 0.6])


def test_the_default_spaces_requests_evenly() -> None:
    clock = Clock()
    limiter = RateLimiter(4, clock=clock)
    assert [limiter.reserve().delay for _ in range(4)] == pytest.approx([0, 0.25, 0.5, 0.75])


def test_the_bucket_refills_while_idle_but_not_beyond_its_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(2, burst=2, clock=clock)
    assert [limiter.reserve().delay for _ in range(3)] == pytest.approx([0, 0, 0.5])
    clock.now += 100
    assert [limiter.reserve().delay for _ in range(3)] == pytest.approx([0, 0, 0.5])


def test_a_server_pause_holds_everyone_and_is_attributed_to_the_server() -> None:
    clock = Clock()
    limiter = RateLimiter(10, clock=clock)
    limiter.pause_until(clock.now + 3)
    first, second = limiter.reserve(), limiter.reserve()
    assert (first.delay, first.source) == (pytest.approx(3.0), "server")
    assert second.delay >= 3.0
    clock.now += 3
    assert limiter.reserve().source == "client"


def test_a_sub_one_rate_still_allows_one_request() -> None:
    clock = Clock()
    limiter = RateLimiter(0.5, clock=clock)
    assert [limiter.reserve().delay for _ in range(2)] == pytest.approx([0, 2.0])


async def test_deliveries_stay_under_the_rate_across_posts_and_gets() -> None:
    clock = VirtualTime()
    platform = FakePlatform(clock, posts=[reply(409, {"message": "already wrapped"})],
                            gets=[lambda r: reply(200, {"state": "wrapped",
                                                        "wrapupCode": {"id": CODE.id}})])
    d = make(platform, WRAPUP_API_RATE_LIMIT="5")
    jobs = [DeliveryJob(f"int-{i}", CODE, START + 600) for i in range(15)]
    await asyncio.gather(*(d.deliver(j) for j in jobs))
    times = sorted(s.at for s in platform.seen)
    assert len(times) == 30  # a POST and a GET each
    for i in range(len(times) - 5):  # any 6 consecutive requests span at least 1 s
        assert times[i + 5] - times[i] >= 1.0 - 1e-9
    assert times[-1] - times[0] == pytest.approx((30 - 1) / 5)  # and no slower than needed
