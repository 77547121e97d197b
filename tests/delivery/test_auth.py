"""OAuth2 client-credentials tokens: caching, refresh before expiry, single flight."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest

from streams.delivery import DeliveryJob
from streams.delivery.auth import ClientCredentials, StaticToken, TokenError
from streams.outcomes import Outcome
from tests.delivery.fixtures import (
    CODE,
    SECRET,
    START,
    FakePlatform,
    VirtualTime,
    make,
    oauth_env,
    reply,
)


def jobs(n: int) -> list[DeliveryJob]:
    return [DeliveryJob(f"int-{i}", CODE, START + 120) for i in range(n)]


async def test_concurrent_deliveries_share_one_token_fetch() -> None:
    clock = VirtualTime()
    platform = FakePlatform(clock)
    d = make(platform, **oauth_env())
    reports = await asyncio.gather(*(d.deliver(j) for j in jobs(20)))
    assert {r.outcome for r in reports} == {Outcome.APPLIED}
    assert len(platform.of("token")) == 1
    assert {s.headers["authorization"] for s in platform.of("wrapup")} == {
        "Bearer tok-SENSITIVE-1"}


async def test_concurrent_401s_on_one_token_share_one_refresh() -> None:
    clock = VirtualTime()
    platform = FakePlatform(clock)
    platform.posts = [lambda r: reply(401 if r.headers["authorization"].endswith("-1") else 200)]
    d = make(platform, **oauth_env())
    reports = await asyncio.gather(*(d.deliver(j) for j in jobs(10)))
    assert {r.outcome for r in reports} == {Outcome.APPLIED}
    assert len(platform.of("token")) == 2


async def test_token_is_cached_then_refreshed_at_80_percent_of_its_lifetime() -> None:
    clock = VirtualTime()
    platform = FakePlatform(clock, token_lifetime=100)
    d = make(platform, **oauth_env())
    await d.deliver(jobs(1)[0])
    clock.advance(79)
    await d.deliver(jobs(1)[0])
    assert len(platform.of("token")) == 1
    clock.advance(2)  # 81 s: past 80 % of 100 s, still before expiry
    await d.deliver(jobs(1)[0])
    assert len(platform.of("token")) == 2
    assert platform.of("wrapup")[-1].headers["authorization"] == "Bearer tok-SENSITIVE-2"


async def test_the_grant_goes_in_basic_auth_and_the_form_body_never_the_url() -> None:
    clock = VirtualTime()
    platform = FakePlatform(clock)
    await make(platform, **oauth_env()).deliver(jobs(1)[0])
    (token,) = platform.of("token")
    assert token.method == "POST" and token.path == "/oauth/token"
    assert token.body == b"grant_type=client_credentials"
    expected = base64.b64encode(f"bridge-client:{SECRET}".encode()).decode()
    assert token.headers["authorization"] == f"Basic {expected}"


async def test_token_requests_bypass_the_rate_limiter() -> None:
    clock = VirtualTime()
    platform = FakePlatform(clock)
    d = make(platform, WRAPUP_API_RATE_LIMIT="1", **oauth_env())
    await d.deliver(jobs(1)[0])
    assert clock.sleeps == []  # token + POST: only the POST took the single burst slot


async def test_a_failed_fetch_is_shared_by_its_waiters_and_not_cached() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return reply(503)
        return reply(200, {"access_token": "tok-SENSITIVE-x", "expires_in": 60})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler),
                                 base_url="http://t") as client:
        source = ClientCredentials(client, "/oauth/token", "id", SECRET)
        results = await asyncio.gather(*(source.token() for _ in range(5)),
                                       return_exceptions=True)
        assert calls == 1
        assert all(isinstance(r, TokenError) and r.retryable for r in results)
        assert await source.token() == "tok-SENSITIVE-x"
        assert calls == 2


@pytest.mark.parametrize(("answer", "retryable"), [
    (reply(200, {"token_type": "bearer"}), True),
    (reply(200, {"access_token": "t", "token_type": "mac"}), False),
    (httpx.Response(200, content=b"not json"), True),
    (reply(400, {"error": "invalid_grant"}), False),
    (reply(429), True),
])
async def test_bad_token_responses(answer: httpx.Response, retryable: bool) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: answer),
                                 base_url="http://t") as client:
        with pytest.raises(TokenError) as err:
            await ClientCredentials(client, "/oauth/token", "id", SECRET).token()
    assert err.value.retryable is retryable


async def test_reprs_hide_credentials() -> None:
    async with httpx.AsyncClient() as client:
        assert SECRET not in repr(ClientCredentials(client, "/t", "id", SECRET))
    assert "abc-token" not in repr(StaticToken("abc-token"))
