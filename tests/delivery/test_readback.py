"""The one read-back path: its status table, and what each caller does with a reading."""

from __future__ import annotations

import httpx
import orjson
import pytest

from streams import platforms
from streams.delivery import ApiError, DeliveryJob
from streams.delivery.api import Exchange
from streams.delivery.readback import ReadBack, Reading, reading_of
from streams.outcomes import Outcome
from streams.platforms import Leg, WrapupView
from tests.delivery.fixtures import (
    CODE,
    START,
    FakePlatform,
    VirtualTime,
    already,
    interaction,
    make,
    oauth_env,
    reply,
    settings,
)

GENERIC = platforms.load(settings()).api
WRAPPED = WrapupView(True, "c", False, "wrapped")


def got(status: int, body: object = None, **headers: str) -> Exchange:
    content = b"" if body is None else orjson.dumps(body)
    return Exchange(response=httpx.Response(status, content=content, headers=headers))


@pytest.mark.parametrize(("exchange", "refreshable", "expected"), [
    (got(200, {"state": "wrapped", "wrapupCode": {"id": "c"}}), False,
     ReadBack(Reading.SEEN, "ok", WRAPPED, status=200)),
    (Exchange(response=httpx.Response(200, content=b"<html>")), False,
     ReadBack(Reading.RETRY, "malformed_response", status=200)),
    (got(200, [1]), False, ReadBack(Reading.RETRY, "malformed_response", status=200)),
    (got(404), False, ReadBack(Reading.NOT_FOUND, "not_found", status=404)),
    (got(429, **{"Retry-After": "3"}), False,
     ReadBack(Reading.RETRY, "rate_limited", delay=3.0, status=429)),
    (got(429), False, ReadBack(Reading.RETRY, "rate_limited", status=429)),
    (got(408), False, ReadBack(Reading.RETRY, "server_error", status=408)),
    (got(502), False, ReadBack(Reading.RETRY, "server_error", status=502)),
    (got(401), True, ReadBack(Reading.RETRY, "unauthorized", status=401)),
    (got(401), False, ReadBack(Reading.REFUSED, "unauthorized", status=401)),
    (got(400), False, ReadBack(Reading.REFUSED, "bad_request", status=400)),
    (got(403), True, ReadBack(Reading.REFUSED, "forbidden", status=403)),
    (got(409), False, ReadBack(Reading.REFUSED, "client_error", status=409)),
    (got(422), False, ReadBack(Reading.REFUSED, "client_error", status=422)),
    (Exchange(error="timeout"), False, ReadBack(Reading.RETRY, "timeout")),
    (Exchange(error="connect_error"), False, ReadBack(Reading.RETRY, "connect_error")),
    (Exchange(error="token_unavailable", sent=0), False,
     ReadBack(Reading.RETRY, "token_unavailable")),
    (Exchange(error="token_rejected", retryable=False, sent=0), True,
     ReadBack(Reading.REFUSED, "token_rejected")),
    (Exchange(error="cancelled", retryable=False, sent=0), False,
     ReadBack(Reading.CANCELLED, "cancelled_wrapped")),
])
def test_the_status_table(exchange: Exchange, refreshable: bool, expected: ReadBack) -> None:
    assert reading_of(exchange, GENERIC, refreshable=refreshable, now=0.0) == expected


@pytest.fixture
def clock() -> VirtualTime:
    return VirtualTime()


def job(**kw: object) -> DeliveryJob:
    return DeliveryJob("int-1", CODE, START + 120, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("get", [reply(403), reply(400), reply(422)])
async def test_readback_first_posts_after_a_refusal(clock: VirtualTime,
                                                    get: httpx.Response) -> None:
    platform = FakePlatform(clock, gets=[get])
    report = await make(platform).deliver(job(readback_first=True))
    assert (report.outcome, report.attempts) == (Outcome.APPLIED, 1)
    assert [s.kind for s in platform.seen] == ["interaction", "wrapup"]


async def test_readback_first_of_an_unknown_interaction_fails_without_posting(
    clock: VirtualTime,
) -> None:
    platform = FakePlatform(clock, gets=[reply(404)])
    report = await make(platform).deliver(job(readback_first=True))
    assert (report.outcome, report.reason, report.attempts) == (Outcome.FAILED, "not_found", 0)
    assert platform.of("wrapup") == []


async def test_readback_first_retries_an_unreadable_answer(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, gets=[httpx.Response(200, content=b"<html>"),
                                         interaction("wrapped", CODE.id)])
    report = await make(platform).deliver(job(readback_first=True))
    assert (report.outcome, report.reason) == (Outcome.ALREADY_APPLIED, "readback_same_code")
    assert platform.of("wrapup") == []


async def test_readback_first_waits_out_a_429_and_pauses_everyone(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, gets=[reply(429, headers={"Retry-After": "9"}),
                                         interaction("wrapping-up")])
    report = await make(platform).deliver(job(readback_first=True))
    assert report.outcome is Outcome.APPLIED
    first, second, post = platform.seen
    assert second.at - first.at == pytest.approx(9.0) and post.at >= second.at


@pytest.mark.parametrize(("get", "reason"), [
    (reply(404), "not_found"), (reply(403), "forbidden"), (reply(422), "client_error"),
])
async def test_a_refused_readback_after_a_409_fails(clock: VirtualTime, get: httpx.Response,
                                                    reason: str) -> None:
    platform = FakePlatform(clock, posts=[already()], gets=[get])
    report = await make(platform).deliver(job())
    assert (report.outcome, report.reason, report.attempts) == (Outcome.FAILED, reason, 1)


async def test_an_unreadable_readback_after_a_409_retries_the_post(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[already()],
                            gets=[httpx.Response(200, content=b"<html>"),
                                  interaction("wrapped", CODE.id)])
    report = await make(platform).deliver(job())
    assert (report.outcome, report.attempts) == (Outcome.ALREADY_APPLIED, 2)


async def test_an_oauth_401_on_the_readback_is_retried(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[already()],
                            gets=[reply(401), reply(401), interaction("wrapped", "wc-agent")])
    report = await make(platform, **oauth_env()).deliver(job())
    assert (report.outcome, report.reason) == (Outcome.SKIPPED, "wrapped_by_other_code")


async def test_a_static_token_401_on_the_readback_fails(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[already()], gets=[reply(401)])
    report = await make(platform, WRAPUP_API_TOKEN="t").deliver(job())
    assert (report.outcome, report.reason) == (Outcome.FAILED, "unauthorized")


async def test_giving_up_reports_the_failure_when_the_readback_says_nothing(
    clock: VirtualTime,
) -> None:
    platform = FakePlatform(clock, posts=[reply(503)],
                            gets=[reply(429, headers={"Retry-After": "5"})])
    report = await make(platform, WRAPUP_API_MAX_ATTEMPTS="2").deliver(job())
    assert (report.outcome, report.reason, report.last_status) == (
        Outcome.FAILED, "attempts_exhausted", 503)


@pytest.mark.parametrize(("get", "reason", "status"), [
    (reply(500), "unexpected_status", 500),
    (reply(403), "unexpected_status", 403),
    (reply(429), "unexpected_status", 429),
    (httpx.Response(200, content=b"<html>"), "malformed_response", 200),
    (reply(200, [1, 2]), "malformed_response", 200),
    (httpx.ConnectError("refused"), "connect_error", None),
])
async def test_get_interaction_errors(clock: VirtualTime, get: httpx.Response | Exception,
                                      reason: str, status: int | None) -> None:
    platform = FakePlatform(clock, gets=[get])
    with pytest.raises(ApiError) as err:
        await make(platform).get_interaction("int-1")
    assert (err.value.reason, err.value.status) == (reason, status)


async def test_probe_sends_one_readback_as_is(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, gets=[reply(403)])
    d = make(platform)
    exchange = await d.probe("probe-id")
    assert exchange.status == 403
    assert [s.path for s in platform.seen] == ["/api/v2/conversations/interactions/probe-id"]
    assert d.platform.readback_request(Leg("x")).path == "/api/v2/conversations/interactions/x"
