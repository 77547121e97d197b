"""The bearer auth flow (refresh and re-send once) and the pacing of every request it sends."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import REGISTRY

from streams.delivery import DeliveryJob
from streams.delivery.bearer import BearerAuth
from streams.outcomes import Outcome
from tests.delivery.fixtures import CODE, START, FakePlatform, VirtualTime, make, oauth_env, reply


class Tokens:
    """A token source that mints tok-1, tok-2, ... and records invalidations."""

    def __init__(self, *, refreshable: bool = True) -> None:
        self.refreshable = refreshable
        self.current: str | None = None
        self.minted = 0
        self.invalidated: list[str | None] = []

    async def token(self) -> str | None:
        if self.current is None:
            self.minted += 1
            self.current = f"tok-{self.minted}"
        return self.current

    def invalidate(self, token: str | None) -> None:
        self.invalidated.append(token)
        if token == self.current and self.refreshable:
            self.current = None


async def send(auth: BearerAuth, statuses: list[int]) -> tuple[httpx.Response, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        return httpx.Response(statuses.pop(0) if len(statuses) > 1 else statuses[0])

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler),
                                 base_url="http://t") as client:
        response = await client.post("/w", content=b"{}", auth=auth)
    return response, seen


async def test_a_good_token_is_sent_once() -> None:
    tokens = Tokens()
    response, seen = await send(BearerAuth(tokens), [200])
    assert (response.status_code, seen, tokens.invalidated) == (200, ["Bearer tok-1"], [])


async def test_a_401_drops_the_token_fetches_and_resends_once() -> None:
    tokens = Tokens()
    response, seen = await send(BearerAuth(tokens), [401, 200])
    assert response.status_code == 200
    assert seen == ["Bearer tok-1", "Bearer tok-2"] and tokens.invalidated == ["tok-1"]


async def test_a_second_401_is_returned_and_its_token_dropped_too() -> None:
    tokens = Tokens()
    response, seen = await send(BearerAuth(tokens), [401])
    assert response.status_code == 401 and len(seen) == 2
    assert tokens.invalidated == ["tok-1", "tok-2"] and tokens.current is None


async def test_a_static_token_401_is_not_resent() -> None:
    tokens = Tokens(refreshable=False)
    auth = BearerAuth(tokens)
    response, seen = await send(auth, [401])
    assert (response.status_code, seen, auth.refreshable) == (401, ["Bearer tok-1"], False)


def requests(status: str) -> float:
    return REGISTRY.get_sample_value("wrapup_api_requests_total", {
        "endpoint": "wrapup", "status": status, "status_class": f"{status[0]}xx"}) or 0.0


async def test_the_resent_request_waits_for_the_limiter_and_is_counted() -> None:
    clock = VirtualTime()
    before = (requests("401"), requests("200"))
    platform = FakePlatform(clock, posts=[reply(401), reply(200)])
    report = await make(platform, WRAPUP_API_RATE_LIMIT="1", **oauth_env()).deliver(
        DeliveryJob("int-1", CODE, START + 60))
    assert (report.outcome, report.attempts) == (Outcome.APPLIED, 2)
    first, second = platform.of("wrapup")
    assert second.at - first.at == pytest.approx(1.0)  # one slot per second, re-send too
    assert (requests("401"), requests("200")) == (before[0] + 1, before[1] + 1)


async def test_cancelled_while_the_resend_waits_counts_the_first_send() -> None:
    clock = VirtualTime()
    platform = FakePlatform(clock, posts=[reply(401), reply(200)])
    d = make(platform, WRAPUP_API_RATE_LIMIT="0.1", **oauth_env())
    cancelled = asyncio.Event()

    async def agent_wraps() -> None:
        await clock.sleep(2)
        cancelled.set()

    exchange, _ = await asyncio.gather(
        d.api.send("wrapup", "POST", "/x", content=b"{}", cancelled=cancelled), agent_wraps())
    assert (exchange.error, exchange.sent, exchange.retryable) == ("cancelled", 1, False)
    assert len(platform.of("wrapup")) == 1
