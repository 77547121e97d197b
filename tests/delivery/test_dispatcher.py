"""Dispatcher behaviour for every answer the platform can give (MockTransport, virtual time)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY

from streams.delivery import ApiError, DeliveryJob
from streams.delivery.dispatcher import READBACK_TRIES
from streams.outcomes import Outcome
from streams.policy import WrapupCode
from tests.delivery.fixtures import (
    CODE,
    START,
    STATIC_TOKEN,
    FakePlatform,
    VirtualTime,
    already,
    interaction,
    make,
    not_ready,
    oauth_env,
    reply,
)


def job(deadline: float = START + 120, **kw: object) -> DeliveryJob:
    return DeliveryJob("int-1", CODE, deadline, decided_at=START - 1, **kw)  # type: ignore[arg-type]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def clock() -> VirtualTime:
    return VirtualTime()


async def test_2xx_is_applied_with_the_rendered_request(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[reply(202, {})])
    d = make(platform, WRAPUP_API_TOKEN=STATIC_TOKEN)
    report = await d.deliver(job())
    await d.aclose()
    assert (report.outcome, report.reason, report.attempts) == (Outcome.APPLIED, "posted", 1)
    assert report.last_status == 202 and report.code_id == CODE.id
    assert report.decided_at == START - 1 and report.first_attempt_at == START
    assert report.finished_at == START and report.source == "worker"
    (post,) = platform.seen
    assert post.path == "/api/v2/conversations/interactions/int-1/wrapup"
    assert orjson.loads(post.body) == {"wrapupCode": {"id": CODE.id, "label": CODE.label}}
    assert post.headers["authorization"] == f"Bearer {STATIC_TOKEN}"
    assert post.headers["content-type"] == "application/json"


async def test_not_ready_is_retried_until_the_platform_is_ready(clock: VirtualTime) -> None:
    before = sample("wrapup_conflicts_total", reason="not_ready")
    platform = FakePlatform(clock, posts=[not_ready(), not_ready(), reply(200, {})])
    d = make(platform, seed=7)  # backoffs well over the limiter's 1 ms interval
    report = await d.deliver(job())
    assert (report.outcome, report.attempts) == (Outcome.APPLIED, 3)
    assert len(clock.sleeps) == 2 and all(0 <= s <= 1.0 for s in clock.sleeps)  # 0.5, 1.0 caps
    assert platform.of("interaction") == []  # the exact not-ready message needs no read-back
    assert sample("wrapup_conflicts_total", reason="not_ready") == before + 2


async def test_not_ready_stops_at_the_deadline(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[not_ready()])
    d = make(platform, WRAPUP_API_MAX_ATTEMPTS="100")
    report = await d.deliver(job(deadline=START + 20))
    assert (report.outcome, report.reason, report.last_status) == (
        Outcome.FAILED, "deadline_exceeded", 409)
    assert 1 < report.attempts < 100
    assert all(s.at <= START + 20 for s in platform.seen)
    assert clock.now <= START + 20


async def test_retries_stop_at_max_attempts(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[reply(503)])
    d = make(platform, WRAPUP_API_MAX_ATTEMPTS="4")
    report = await d.deliver(job(deadline=START + 3600))
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.FAILED, "attempts_exhausted", 4)
    # four POSTs, then one read-back before reporting the failure
    assert [s.kind for s in platform.seen] == ["wrapup"] * 4 + ["interaction"]


async def test_giving_up_reads_back_and_reports_a_code_someone_else_set(
    clock: VirtualTime,
) -> None:
    """Out of attempts on 5xx while the platform's ACW timeout applied its default code:
    that is a skipped wrap-up, not a failed one."""
    platform = FakePlatform(clock, posts=[reply(503)],
                            gets=[interaction("wrapped", "wc-platform-default")])
    report = await make(platform, WRAPUP_API_MAX_ATTEMPTS="2").deliver(job())
    assert (report.outcome, report.reason) == (Outcome.SKIPPED, "wrapped_by_other_code")


async def test_a_past_deadline_still_gets_one_attempt(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[not_ready()])
    report = await make(platform).deliver(job(deadline=START - 600))
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.FAILED, "deadline_exceeded", 1)
    assert [s for s in clock.sleeps if s > 0.1] == []  # no backoff; limiter spacing only

    platform = FakePlatform(clock, posts=[reply(200)])
    report = await make(platform).deliver(job(deadline=START - 600))
    assert report.outcome is Outcome.APPLIED


async def test_already_wrapped_with_our_code_is_already_applied(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[already()], gets=[interaction("wrapped", CODE.id)])
    report = await make(platform).deliver(job())
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.ALREADY_APPLIED, "readback_same_code", 1)
    assert [s.kind for s in platform.seen] == ["wrapup", "interaction"]
    assert platform.seen[1].path == "/api/v2/conversations/interactions/int-1"


async def test_already_wrapped_with_another_code_is_skipped(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[already()], gets=[interaction("wrapped", "wc-agent")])
    report = await make(platform).deliver(job())
    assert (report.outcome, report.reason) == (Outcome.SKIPPED, "wrapped_by_other_code")
    assert len(platform.of("wrapup")) == 1  # never overwritten


async def test_an_unclear_409_is_settled_by_reading_back(clock: VirtualTime) -> None:
    platform = FakePlatform(
        clock,
        posts=[reply(409, {"message": "Conflict"}), reply(409, {"message": "Conflict"})],
        gets=[interaction("wrapping-up"), interaction("wrapped", "wc-platform-default")],
    )
    report = await make(platform).deliver(job())
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.SKIPPED, "wrapped_by_other_code", 2)
    assert [s.kind for s in platform.seen] == ["wrapup", "interaction"] * 2


async def test_readback_transient_failure_retries_the_post(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[already()],
                            gets=[reply(502), interaction("wrapped", CODE.id)])
    report = await make(platform).deliver(job())
    assert (report.outcome, report.attempts) == (Outcome.ALREADY_APPLIED, 2)


@pytest.mark.parametrize(("status", "reason"), [
    (400, "bad_request"), (403, "forbidden"), (404, "not_found"), (422, "client_error"),
])
async def test_permanent_errors_are_not_retried(
    clock: VirtualTime, status: int, reason: str
) -> None:
    platform = FakePlatform(clock, posts=[reply(status)])
    report = await make(platform).deliver(job())
    assert (report.outcome, report.reason, report.attempts, report.last_status) == (
        Outcome.FAILED, reason, 1, status)
    assert clock.sleeps == []


@pytest.mark.parametrize("failure", [
    reply(500), reply(503), httpx.ReadTimeout("slow"), httpx.ConnectError("refused"),
    httpx.ConnectTimeout("slow"), httpx.RemoteProtocolError("eof"),
])
async def test_transient_failures_are_retried(
    clock: VirtualTime, failure: httpx.Response | Exception
) -> None:
    platform = FakePlatform(clock, posts=[failure, failure, reply(200)])
    report = await make(platform, seed=7).deliver(job())  # backoffs well over 1 ms
    assert (report.outcome, report.reason) == (Outcome.APPLIED, "posted")
    assert len(platform.of("wrapup")) == 3 and len(clock.sleeps) == 2


async def test_timed_out_post_that_landed_reads_back_as_already_applied(
    clock: VirtualTime,
) -> None:
    platform = FakePlatform(clock, posts=[httpx.ReadTimeout("slow"), already()],
                            gets=[interaction("wrapped", CODE.id)])
    report = await make(platform).deliver(job())
    assert (report.outcome, report.reason) == (Outcome.ALREADY_APPLIED, "readback_same_code")


async def test_retry_after_seconds_is_honoured(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[reply(429, headers={"Retry-After": "7"}), reply(200)])
    report = await make(platform).deliver(job())
    assert report.outcome is Outcome.APPLIED
    first, second = platform.of("wrapup")
    assert second.at - first.at == pytest.approx(7.0)


async def test_retry_after_http_date_is_honoured(clock: VirtualTime) -> None:
    when = format_datetime(datetime.fromtimestamp(START + 12, UTC), usegmt=True)
    platform = FakePlatform(clock, posts=[reply(429, headers={"Retry-After": when}),
                                          reply(200)])
    report = await make(platform).deliver(job())
    assert report.outcome is Outcome.APPLIED
    first, second = platform.of("wrapup")
    assert second.at - first.at == pytest.approx(12.0)


async def test_retry_after_beyond_the_deadline_gives_up(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[reply(429, headers={"Retry-After": "300"})])
    report = await make(platform).deliver(job(deadline=START + 60))
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.FAILED, "deadline_exceeded", 1)


async def test_retry_after_pauses_other_deliveries(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[reply(429, headers={"Retry-After": "10"}), reply(200)])
    d = make(platform)
    first = await d.deliver(job())
    assert first.outcome is Outcome.APPLIED
    platform.posts = [reply(429, headers={"Retry-After": "10"}), reply(200)]
    clock.sleeps.clear()
    results = await asyncio.gather(
        d.deliver(job()), d.deliver(DeliveryJob("int-2", CODE, START + 120)))
    assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.APPLIED]
    # int-2 was sent after the 429 was seen: it waited for the pause, it did not hammer
    posts = platform.of("wrapup")[2:]
    assert [p.path.split("/")[-2] for p in posts][:1] == ["int-1"]
    assert posts[-1].at - posts[0].at >= 10.0


async def test_readback_first_finds_our_code_without_posting(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, gets=[interaction("wrapped", CODE.id)])
    report = await make(platform).deliver(job(readback_first=True))
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.ALREADY_APPLIED, "readback_same_code", 0)
    assert platform.of("wrapup") == []
    assert report.first_attempt_at == START and report.last_status == 200


async def test_readback_first_finds_another_code_without_posting(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, gets=[interaction("wrapped", "wc-agent")])
    report = await make(platform).deliver(job(readback_first=True))
    assert (report.outcome, report.reason) == (Outcome.SKIPPED, "wrapped_by_other_code")
    assert platform.of("wrapup") == []


async def test_readback_first_posts_when_not_wrapped(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, gets=[interaction("wrapping-up")])
    report = await make(platform).deliver(job(readback_first=True))
    assert (report.outcome, report.attempts) == (Outcome.APPLIED, 1)
    assert [s.kind for s in platform.seen] == ["interaction", "wrapup"]


@pytest.mark.parametrize("get", [reply(503), httpx.ConnectError("refused")])
async def test_readback_first_retries_a_failing_read_back_then_posts(
    clock: VirtualTime, get: httpx.Response | Exception
) -> None:
    platform = FakePlatform(clock, gets=[get])
    report = await make(platform).deliver(job(readback_first=True))
    assert (report.outcome, report.attempts) == (Outcome.APPLIED, 1)
    assert [s.kind for s in platform.seen] == ["interaction"] * READBACK_TRIES + ["wrapup"]


async def test_readback_first_retry_finds_our_code_and_never_posts(clock: VirtualTime) -> None:
    """A resumed delivery whose first read-back fails must not POST over its own wrap-up."""
    platform = FakePlatform(clock, gets=[reply(503), interaction("wrapped", CODE.id)])
    report = await make(platform).deliver(job(readback_first=True))
    assert (report.outcome, report.reason) == (Outcome.ALREADY_APPLIED, "readback_same_code")
    assert platform.of("wrapup") == []


async def test_cancelled_before_start_sends_nothing(clock: VirtualTime) -> None:
    event = asyncio.Event()
    event.set()
    platform = FakePlatform(clock)
    report = await make(platform).deliver(job(cancelled=event))
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.SKIPPED, "cancelled_wrapped", 0)
    assert platform.seen == []


async def test_cancellation_cuts_a_backoff_wait_short(clock: VirtualTime) -> None:
    event = asyncio.Event()
    platform = FakePlatform(clock, posts=[reply(429, headers={"Retry-After": "60"})])
    d = make(platform)

    async def agent_wraps() -> None:
        await clock.sleep(5)
        event.set()

    report, _ = await asyncio.gather(d.deliver(job(cancelled=event)), agent_wraps())
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.SKIPPED, "cancelled_wrapped", 1)
    assert report.finished_at == pytest.approx(START + 5)


async def test_static_token_401_is_permanent(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[reply(401)])
    report = await make(platform, WRAPUP_API_TOKEN=STATIC_TOKEN).deliver(job())
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.FAILED, "unauthorized", 1)
    assert platform.of("token") == []


async def test_oauth_401_refreshes_the_token_once_and_resends(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[reply(401), reply(200)])
    report = await make(platform, **oauth_env()).deliver(job())
    assert (report.outcome, report.attempts) == (Outcome.APPLIED, 2)
    first, second = platform.of("wrapup")
    assert first.headers["authorization"] == "Bearer tok-SENSITIVE-1"
    assert second.headers["authorization"] == "Bearer tok-SENSITIVE-2"
    assert len(platform.of("token")) == 2


async def test_oauth_401s_despite_fresh_tokens_are_retried_then_fail_unauthorized(
    clock: VirtualTime,
) -> None:
    platform = FakePlatform(clock, posts=[reply(401)])
    report = await make(platform, WRAPUP_API_MAX_ATTEMPTS="3", **oauth_env()).deliver(job())
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.FAILED, "unauthorized", 6)  # 3 attempts, each re-sent once after a refresh
    assert len(platform.of("token")) == 7  # the first, then one after every 401


async def test_oauth_a_token_revoked_right_after_its_refresh_is_survived(
    clock: VirtualTime,
) -> None:
    platform = FakePlatform(clock, posts=[reply(401), reply(401), reply(200)])
    report = await make(platform, **oauth_env()).deliver(job())
    assert (report.outcome, report.reason) == (Outcome.APPLIED, "posted")


async def test_token_endpoint_outage_is_retried(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, tokens=[reply(503), httpx.ConnectError("down"),
                                           reply(200, {"access_token": "tok-SENSITIVE-ok",
                                                       "expires_in": 60})])
    report = await make(platform, **oauth_env()).deliver(job())
    assert (report.outcome, report.attempts) == (Outcome.APPLIED, 1)
    assert len(platform.of("token")) == 3


async def test_token_endpoint_rejection_is_permanent(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, tokens=[reply(401, {"error": "invalid_client"})])
    report = await make(platform, **oauth_env()).deliver(job())
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.FAILED, "token_rejected", 0)
    assert platform.of("wrapup") == []


async def test_body_values_are_json_escaped(clock: VirtualTime) -> None:
    platform = FakePlatform(clock)
    code = WrapupCode('id"}, "x": {"', 'Label with "quotes", \\ and {codeId} braces')
    template = '{"wrapupCode": {"id": "{codeId}", "name": "Code: {codeLabel}"}, "n": 1}'
    d = make(platform, WRAPUP_API_BODY_TEMPLATE=template)
    report = await d.deliver(DeliveryJob("int-1", code, START + 60))
    assert report.outcome is Outcome.APPLIED
    body = orjson.loads(platform.seen[0].body)
    assert body == {"wrapupCode": {"id": code.id, "name": f"Code: {code.label}"}, "n": 1}


async def test_interaction_id_is_percent_encoded(clock: VirtualTime) -> None:
    platform = FakePlatform(clock)
    report = await make(platform).deliver(DeliveryJob("a:b/c?d", CODE, START + 60))
    assert report.outcome is Outcome.APPLIED
    assert platform.seen[0].path == "/api/v2/conversations/interactions/a%3Ab%2Fc%3Fd/wrapup"


async def test_get_interaction(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, gets=[interaction("wrapped", CODE.id), reply(404), reply(500)])
    d = make(platform)
    assert (await d.get_interaction("int-1")) == {
        "id": "int-1", "state": "wrapped", "wrapupCode": {"id": CODE.id, "label": "x"}}
    assert await d.get_interaction("int-1") is None
    with pytest.raises(ApiError) as err:
        await d.get_interaction("int-1")
    assert err.value.status == 500


async def test_request_metrics_are_recorded(clock: VirtualTime) -> None:
    before = sample("wrapup_api_requests_total", endpoint="wrapup", status="503",
                    status_class="5xx")
    retries = sample("wrapup_retries_total", reason="server_error")
    platform = FakePlatform(clock, posts=[reply(503), reply(200)])
    await make(platform).deliver(job())
    assert sample("wrapup_api_requests_total", endpoint="wrapup", status="503",
                  status_class="5xx") == before + 1
    assert sample("wrapup_retries_total", reason="server_error") == retries + 1


async def test_a_bug_becomes_a_failed_report_not_an_exception(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[ValueError("boom")])
    report = await make(platform).deliver(job())
    assert (report.outcome, report.reason) == (Outcome.FAILED, "internal_error")


async def test_task_cancellation_propagates(clock: VirtualTime) -> None:
    platform = FakePlatform(clock, posts=[reply(429, headers={"Retry-After": "60"})])
    task = asyncio.ensure_future(make(platform).deliver(job()))
    await clock.sleep(1)  # the delivery is now waiting out the Retry-After
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
