"""The dispatcher speaking TaskRouter (MockTransport, virtual time): how each race ends."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

from streams.delivery import Dispatcher
from streams.delivery.job import DeliveryJob
from streams.outcomes import Outcome
from streams.policy import WrapupCode
from tests.delivery.fixtures import START, VirtualTime
from tests.platforms.twilio.fixtures import API_KEY, TASK, fixture, settings

CODE = WrapupCode("wc-renewal", "Renewal - auto")
Handler = Callable[[httpx.Request], httpx.Response]


def task(status: str, reason: str | None = None) -> httpx.Response:
    return httpx.Response(200, content=orjson.dumps(
        {**fixture("task_wrapping.json"), "assignment_status": status, "reason": reason}))


def error(status: int, name: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(fixture(name)), headers=headers)


class Script:
    """Answers POSTs and GETs from two queues (the last answer repeats); logs requests."""

    def __init__(self, posts: list[httpx.Response], gets: list[httpx.Response]) -> None:
        self.posts, self.gets = posts, gets
        self.log: list[tuple[str, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        queue = self.posts if request.method == "POST" else self.gets
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        self.log.append((request.method, answer.status_code))
        assert request.url.host == "taskrouter.twilio.com"
        return answer


async def deliver(script: Handler, **env: str) -> tuple[Outcome, str, int]:
    clock = VirtualTime()
    dispatcher = Dispatcher.from_settings(
        settings(**env), transport=httpx.MockTransport(script), clock=clock.time,
        monotonic=clock.monotonic, sleep=clock.sleep)
    try:
        report = await dispatcher.deliver(DeliveryJob(TASK, CODE, START + 120))
    finally:
        await dispatcher.aclose()
    return report.outcome, report.reason, report.attempts


async def test_a_wrapping_task_is_completed_with_one_post() -> None:
    script = Script([task("completed", "wc-renewal")], [task("wrapping")])
    assert await deliver(script) == (Outcome.APPLIED, "posted", 1)
    assert script.log == [("POST", 200)]


async def test_a_refusal_while_still_assigned_is_retried_after_the_read_back() -> None:
    script = Script([error(400, "error_400_task_state.json"), task("completed", "wc-renewal")],
                    [task("assigned")])
    assert await deliver(script) == (Outcome.APPLIED, "posted", 2)
    assert script.log == [("POST", 400), ("GET", 200), ("POST", 200)]


async def test_a_task_the_agent_completed_first_is_skipped_not_overwritten() -> None:
    script = Script([error(400, "error_400_task_state.json")],
                    [task("completed", "agent-choice")])
    assert await deliver(script) == (Outcome.SKIPPED, "wrapped_by_other_code", 1)


async def test_a_task_completed_with_our_code_is_already_applied() -> None:
    # Our first POST landed but its answer was lost (a 503 from a proxy, say).
    script = Script([httpx.Response(503), error(400, "error_400_task_state.json")],
                    [task("completed", "wc-renewal")])
    assert await deliver(script) == (Outcome.ALREADY_APPLIED, "readback_same_code", 2)


async def test_a_canceled_task_has_nothing_to_wrap() -> None:
    script = Script([error(400, "error_400_task_state.json")], [task("canceled", "TTL")])
    assert await deliver(script) == (Outcome.SKIPPED, "wrapped_without_code", 1)


async def test_a_429_and_a_5xx_burst_are_ridden_out() -> None:
    script = Script([error(429, "error_429.json", **{"Retry-After": "2"}), httpx.Response(500),
                     httpx.Response(503), task("completed", "wc-renewal")], [task("wrapping")])
    assert await deliver(script) == (Outcome.APPLIED, "posted", 4)


async def test_a_401_with_plain_credentials_fails_at_once() -> None:
    script = Script([error(401, "error_401.json")], [error(401, "error_401.json")])
    outcome, reason, attempts = await deliver(script)
    assert (outcome, reason, attempts) == (Outcome.FAILED, "unauthorized", 1)


async def test_a_401_with_a_secret_file_is_retried_until_the_file_is_rotated(
        tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("old\n")
    refusals: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == basic("new"):
            return task("completed", "wc-renewal")
        refusals.append(request.headers["Authorization"])
        if len(refusals) == 2:  # the Secret's update lands after the second refusal
            path.write_text("new\n")
        return error(401, "error_401.json")

    outcome, reason, _ = await deliver(handler, WRAPUP_TWILIO_API_KEY_SECRET="",
                                       WRAPUP_TWILIO_API_KEY_SECRET_FILE=str(path))
    assert (outcome, reason) == (Outcome.APPLIED, "posted")
    assert refusals == [basic("old"), basic("old")]


def basic(secret: str) -> str:
    return "Basic " + base64.b64encode(f"{API_KEY}:{secret}".encode()).decode()
