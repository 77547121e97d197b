"""No client secret or token ever reaches a log line, a report, a metric or an exception."""

from __future__ import annotations

import logging

import httpx
import pytest
from prometheus_client import REGISTRY, generate_latest

from streams.delivery import ApiError, DeliveryJob
from streams.delivery.auth import TokenError
from tests.delivery.fixtures import (
    CODE,
    SECRET,
    START,
    STATIC_TOKEN,
    TOKEN_PREFIX,
    FakePlatform,
    VirtualTime,
    already,
    interaction,
    make,
    not_ready,
    oauth_env,
    reply,
    settings,
)

SECRETS = (SECRET, TOKEN_PREFIX, STATIC_TOKEN)
ECHO = {"error": "invalid_client", "error_description": f"bad secret {SECRET}"}


def scripted_failures(clock: VirtualTime) -> FakePlatform:
    """A platform that walks a delivery through most failure paths."""
    return FakePlatform(
        clock,
        tokens=[reply(503, ECHO), httpx.ConnectError(f"refused {SECRET}"),
                reply(200, {"access_token": f"{TOKEN_PREFIX}a", "expires_in": 1})],
        posts=[reply(401), httpx.ReadTimeout("slow"), reply(500), not_ready(),
               reply(429, headers={"Retry-After": "1"}), already()],
        gets=[reply(503), interaction("wrapped", "wc-other")],
    )


async def test_secrets_never_escape(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "streams"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    seen: list[str] = []
    clock = VirtualTime()

    platform = scripted_failures(clock)
    d = make(platform, WRAPUP_API_MAX_ATTEMPTS="20", **oauth_env())
    report = await d.deliver(DeliveryJob("int-1", CODE, START + 600))
    assert report.reason == "wrapped_by_other_code"  # the whole script was walked
    seen += [repr(report), report.encode().decode(), repr(d), repr(d.api.auth),
             repr(d.platform), repr(vars(d.platform))]
    platform.gets = [reply(500)]
    with pytest.raises(ApiError) as api_error:
        await d.get_interaction("int-1")
    seen += [str(api_error.value), repr(api_error.value)]

    platform = FakePlatform(clock, tokens=[reply(401, ECHO)])
    d = make(platform, **oauth_env())
    report = await d.deliver(DeliveryJob("int-2", CODE, START + 600))
    assert report.reason == "token_rejected"
    seen += [repr(report), report.encode().decode()]
    with pytest.raises(TokenError) as token_error:
        await d.api.auth.source.token()
    seen += [str(token_error.value), repr(token_error.value)]

    platform = FakePlatform(clock, posts=[reply(401, {"message": f"bad {STATIC_TOKEN}"})])
    d = make(platform, WRAPUP_API_TOKEN=STATIC_TOKEN)
    report = await d.deliver(DeliveryJob("int-3", CODE, START + 600))
    assert report.reason == "unauthorized"
    seen += [repr(report), repr(d.api.auth), repr(d.platform),
             repr(settings(WRAPUP_API_TOKEN=STATIC_TOKEN))]

    seen += [caplog.text, generate_latest(REGISTRY).decode()]
    seen += [str(r.args) + str(r.__dict__) for r in caplog.records]
    assert len(caplog.records) > 10  # DEBUG logging really was on (httpx and ours)
    for text in seen:
        for secret in SECRETS:
            assert secret not in text

