"""The dispatcher against the simulated platform over real loopback HTTP.

Requests are real (aiohttp server on 127.0.0.1, httpx client, real sockets); time is
virtual: the platform's clock and the dispatcher's clock and sleep share one counter, so
waits for "wrapping-up", backoff and Retry-After cost no wall time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from streams.delivery import DeliveryJob, Dispatcher
from streams.dev.simulator.lifecycle import Timeline
from streams.dev.simulator.platform import AuthConfig, InteractionInfo, Platform
from streams.dev.simulator.scenario import default_scenario
from streams.dev.simulator.server import PlatformServer
from streams.outcomes import Outcome
from streams.policy import WrapupCode
from tests.delivery.fixtures import settings

CODE = WrapupCode("wc-renewal", "Renewal - auto")
SIM_SECRET = "live-test-secret-value"


class Clock:
    """Shared virtual time: ``sleep`` moves it forward and yields to the loop."""

    def __init__(self) -> None:
        self.now = 2_000_000_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass
class Live:
    platform: Platform
    clock: Clock
    base_url: str

    def add(self, iid: str, *, ended_in: float = 0.0, transition: float = 0.0,
            acw: float = 60.0, agent_after: float | None = None) -> float:
        """Register an interaction; returns its ACW deadline (the delivery deadline)."""
        now = self.clock.now
        wrapping = now + ended_in + transition
        agent = default_scenario().queue("q-sales").agent_codes[0] if agent_after else None
        self.platform.add_interaction(
            InteractionInfo(iid, "agent-001", "c-renewals", "q-sales"),
            Timeline(now, now + ended_in, wrapping, wrapping + acw,
                     None if agent_after is None else wrapping + agent_after, agent))
        return wrapping + acw

    def dispatcher(self) -> Dispatcher:
        env = settings(WRAPUP_API_BASE_URL=self.base_url, WRAPUP_API_RATE_LIMIT="50",
                       WRAPUP_API_TIMEOUT_SECONDS="2", WRAPUP_OAUTH_CLIENT_ID="live-client",
                       WRAPUP_OAUTH_CLIENT_SECRET=SIM_SECRET,
                       WRAPUP_OAUTH_TOKEN_URL="/oauth/token")
        return Dispatcher.from_settings(env, clock=self.clock, monotonic=self.clock,
                                        sleep=self.clock.sleep)

    def reasons(self, iid: str) -> list[str]:
        return [r.reason for r in self.platform.ledger.requests_for(iid)]


@pytest.fixture
async def live() -> AsyncIterator[Live]:
    clock = Clock()
    auth = AuthConfig(client_id="live-client", client_secret=SIM_SECRET, token_ttl=600.0)
    platform = Platform(auth=auth, clock=clock)
    async with PlatformServer(platform) as server:
        yield Live(platform, clock, server.base_url)
    ledger = platform.ledger
    assert ledger.duplicate_wrapups == []
    assert all(ledger.applied_by_api(i) <= 1 for i in platform.interaction_ids())


async def test_lifecycle_paths_end_to_end(live: Live) -> None:
    deadlines = {
        "ix-ready": live.add("ix-ready"),
        "ix-early": live.add("ix-early", ended_in=2.0, transition=3.0),
        "ix-agent": live.add("ix-agent", agent_after=0.5),
    }
    live.clock.now += 1.0  # the agent has picked a code on ix-agent
    d = live.dispatcher()
    try:
        reports = {iid: await d.deliver(DeliveryJob(iid, CODE, deadline))
                   for iid, deadline in deadlines.items()}
        resumed = await d.deliver(
            DeliveryJob("ix-ready", CODE, deadlines["ix-ready"], readback_first=True))
    finally:
        await d.aclose()
    assert (reports["ix-ready"].outcome, reports["ix-ready"].attempts) == (Outcome.APPLIED, 1)
    early = reports["ix-early"]
    assert early.outcome is Outcome.APPLIED and early.attempts > 1
    assert set(live.reasons("ix-early")) == {"not_ready", "applied"}
    assert (reports["ix-agent"].outcome, reports["ix-agent"].reason) == (
        Outcome.SKIPPED, "wrapped_by_other_code")
    assert live.platform.ledger.wrapup("ix-agent").by == "agent"  # type: ignore[union-attr]
    assert (resumed.outcome, resumed.reason, resumed.attempts) == (
        Outcome.ALREADY_APPLIED, "readback_same_code", 0)
    assert live.platform.ledger.count(method="POST", reason="token_issued") == 1


async def test_a_lost_response_is_recognised_as_already_applied(live: Live) -> None:
    deadline = live.add("ix-lost")
    live.platform.set_chaos(lost_response_fraction=1.0, timeout_mode="drop")
    d = live.dispatcher()
    try:
        report = await d.deliver(DeliveryJob("ix-lost", CODE, deadline))
    finally:
        await d.aclose()
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.ALREADY_APPLIED, "readback_same_code", 2)
    assert live.reasons("ix-lost") == ["applied", "already_wrapped", "ok"]
    assert live.platform.ledger.applied_by_api("ix-lost") == 1


async def test_expired_tokens_and_429_bursts_are_survived(live: Live) -> None:
    first, second = live.add("ix-a"), live.add("ix-b")
    live.platform.set_chaos(retry_after_seconds=4)
    d = live.dispatcher()
    try:
        assert (await d.deliver(DeliveryJob("ix-a", CODE, first))).outcome is Outcome.APPLIED
        live.platform.expire_tokens()
        live.platform.burst_429(1)
        report = await d.deliver(DeliveryJob("ix-b", CODE, second))
    finally:
        await d.aclose()
    assert report.outcome is Outcome.APPLIED
    assert live.reasons("ix-b") == ["token_expired", "rate_limited", "applied"]
    posts = live.platform.ledger.posts("ix-b")
    assert posts[2].at - posts[1].at >= 4.0  # Retry-After honoured
    assert live.platform.ledger.count(method="POST", reason="token_issued") == 2


async def test_concurrent_deliveries_fetch_one_token(live: Live) -> None:
    deadlines = {f"ix-{i}": live.add(f"ix-{i}") for i in range(20)}
    d = live.dispatcher()
    try:
        reports = await asyncio.gather(
            *(d.deliver(DeliveryJob(iid, CODE, dl)) for iid, dl in deadlines.items()))
    finally:
        await d.aclose()
    assert {r.outcome for r in reports} == {Outcome.APPLIED}
    assert live.platform.ledger.count(method="POST", reason="token_issued") == 1
