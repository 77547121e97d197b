"""The twilio dialect's API side: requests, answers, read-back, over httpx.MockTransport."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import orjson
import pytest

from streams.platforms import Conflict, Leg, Verdict, WrapupView
from streams.platforms.twilio import TaskRouterApi, build, task_view
from streams.policy import WrapupCode
from tests.platforms.twilio.fixtures import API_KEY, SECRET, TASK, WORKSPACE, fixture, settings

CODE = WrapupCode("wc-renewal", "Renewal - auto")
NOW = 1_796_202_000.0


def api(**env: str) -> TaskRouterApi:
    platform = build(settings(**env))
    assert platform.name == "twilio" and isinstance(platform.api, TaskRouterApi)
    return platform.api


def response(status: int, name: str | None = None, **headers: str) -> httpx.Response:
    body = orjson.dumps(fixture(name)) if name else b""
    return httpx.Response(status, content=body, headers=headers)


def test_the_wrapup_request_completes_the_task_with_the_code_as_reason() -> None:
    request = api().wrapup_request(Leg(TASK), CODE)
    assert (request.endpoint, request.method) == ("wrapup", "POST")
    assert request.path == (f"https://taskrouter.twilio.com/v1/Workspaces/{WORKSPACE}"
                            f"/Tasks/{TASK}")
    assert dict(request.headers) == {"Content-Type": "application/x-www-form-urlencoded"}
    assert request.content is not None
    assert parse_qs(request.content.decode(), strict_parsing=True) == {
        "AssignmentStatus": ["completed"], "Reason": ["wc-renewal"]}  # no Attributes


def test_paths_are_relative_to_a_configured_base_url() -> None:
    relative = api(WRAPUP_API_BASE_URL="http://127.0.0.1:8089")
    assert relative.readback_request(Leg(TASK)).path == f"/v1/Workspaces/{WORKSPACE}/Tasks/{TASK}"
    assert relative.readback_request(Leg(TASK)).method == "GET"
    assert relative.readback_request(Leg(TASK)).endpoint == "interaction"


def test_a_code_with_form_characters_stays_one_reason() -> None:
    request = api().wrapup_request(Leg(TASK), WrapupCode("a&b=c d+é", "x"))
    assert request.content is not None
    assert parse_qs(request.content.decode())["Reason"] == ["a&b=c d+é"]


@pytest.mark.parametrize(("status", "name", "verdict", "reason"), [
    (200, "task_completed.json", Verdict.APPLIED, "posted"),
    (400, "error_400_task_state.json", Verdict.READ_BACK, "other"),
    (400, None, Verdict.READ_BACK, "other"),
    (412, None, Verdict.READ_BACK, "other"),
    (401, "error_401.json", Verdict.UNAUTHORIZED, "unauthorized"),
    (403, None, Verdict.PERMANENT, "forbidden"),
    (404, None, Verdict.PERMANENT, "not_found"),
    (429, "error_429.json", Verdict.RATE_LIMITED, "rate_limited"),
    (500, None, Verdict.TRANSIENT, "server_error"),
    (503, None, Verdict.TRANSIENT, "server_error"),
])
def test_answers_are_classified_by_status(status: int, name: str | None, verdict: Verdict,
                                          reason: str) -> None:
    answer = api().classify(response(status, name), NOW)
    assert (answer.verdict, answer.reason) == (verdict, reason)
    if verdict is Verdict.READ_BACK:
        assert answer.conflict is Conflict.OTHER  # the body is never trusted: read back


def test_a_429_honours_retry_after_when_given() -> None:
    assert api().classify(response(429, "error_429.json", **{"Retry-After": "3"}),
                          NOW).retry_after == 3.0
    assert api().classify(response(429, "error_429.json"), NOW).retry_after is None


@pytest.mark.parametrize(("name", "view"), [
    ("task_completed.json", WrapupView(True, "wc-renewal", False, "completed")),
    ("task_completed_by_other.json", WrapupView(True, "Task auto-completed", False,
                                                "completed")),
    ("task_wrapping.json", WrapupView(False, None, True, "wrapping")),
    ("task_assigned.json", WrapupView(False, None, False, "assigned")),
    ("task_canceled.json", WrapupView(True, None, False, "canceled")),
])
def test_the_read_back_is_the_tasks_status_and_reason(name: str, view: WrapupView) -> None:
    assert api().parse_readback(response(200, name)) == view


def test_a_read_back_that_is_not_a_task_is_no_view() -> None:
    reader = api()
    assert reader.parse_readback(response(404, "error_400_task_state.json")) is None
    assert reader.parse_readback(httpx.Response(200, content=b"<html>")) is None
    assert reader.parse_readback(httpx.Response(200, content=b"[]")) is None
    assert task_view({"assignment_status": "exploded"}) is None
    assert task_view({"assignment_status": "completed", "reason": "x" * 300}) == WrapupView(
        True, None, False, "completed")


async def test_basic_auth_with_the_api_key_over_a_mock_transport() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response(200, "task_completed.json")

    taskrouter = api()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        request = taskrouter.wrapup_request(Leg(TASK), CODE)
        answer = await client.request(request.method, request.path, content=request.content,
                                      headers=dict(request.headers),
                                      auth=taskrouter.auth(client, clock=lambda: 0.0))
    assert taskrouter.classify(answer, NOW).verdict is Verdict.APPLIED
    (sent,) = seen
    expected = base64.b64encode(f"{API_KEY}:{SECRET}".encode()).decode()
    assert sent.headers["Authorization"] == f"Basic {expected}"
    assert sent.url.host == "taskrouter.twilio.com"
    assert SECRET not in repr(taskrouter) and SECRET not in repr(taskrouter.auth(
        client, clock=lambda: 0.0))
