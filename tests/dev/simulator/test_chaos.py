"""Chaos knobs: the per-interaction slowness (``slow_fraction`` / ``slow_seconds``)."""

from __future__ import annotations

import time

import httpx
import pytest

from streams.dev.simulator.chaos import Chaos
from streams.dev.simulator.lifecycle import Timeline
from streams.dev.simulator.platform import AuthConfig, InteractionInfo, Platform
from streams.dev.simulator.server import PlatformServer

URL = "/api/v2/conversations/interactions/{}"


def test_slow_interactions_are_a_stable_share_of_ids() -> None:
    chaos = Chaos(slow_fraction=0.1, slow_seconds=2.0)
    ids = [f"ix-7-{i:05d}" for i in range(5000)]
    slow = [i for i in ids if chaos.is_slow(i)]
    assert 0.08 * len(ids) < len(slow) < 0.12 * len(ids)
    assert slow == [i for i in ids if Chaos(slow_fraction=0.1).is_slow(i)]  # stable
    assert not any(Chaos().is_slow(i) for i in ids)
    assert all(Chaos(slow_fraction=1.0).is_slow(i) for i in ids)
    assert not chaos.is_slow(None) and not chaos.is_slow("")


@pytest.mark.parametrize("changes", [{"slow_fraction": 1.5}, {"slow_fraction": -0.1},
                                     {"slow_seconds": -1.0}])
def test_slow_settings_are_validated(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Chaos().updated(changes)


async def test_only_the_slow_interactions_requests_are_delayed() -> None:
    chaos = Chaos(slow_fraction=0.5, slow_seconds=0.6)
    ids = [f"ix-{i}" for i in range(20)]
    slow = next(i for i in ids if chaos.is_slow(i))
    fast = next(i for i in ids if not chaos.is_slow(i))
    platform = Platform(auth=AuthConfig(static_token="t"), chaos=chaos)
    now = time.time()
    for iid in (slow, fast):
        platform.add_interaction(InteractionInfo(iid, "agent-001", "c-renewals", "q-sales"),
                                 Timeline(now - 2, now - 1, now - 1, now + 60))
    async with PlatformServer(platform) as server, httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": "Bearer t"}, timeout=5.0
    ) as http:
        elapsed = {}
        for iid in (slow, fast):
            began = time.monotonic()
            assert (await http.get(URL.format(iid))).status_code == 200
            elapsed[iid] = time.monotonic() - began
    assert elapsed[slow] >= 0.6
    assert elapsed[fast] < 0.5
