"""The simulator in TaskRouter mode, over real loopback HTTP, spoken to by the product."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import httpx
import orjson
import pytest

from streams.config import Settings
from streams.delivery import Dispatcher
from streams.delivery.job import DeliveryJob
from streams.dev.simulator.dialects import load
from streams.dev.simulator.dialects.twilio import TwilioDialect, sid
from streams.dev.simulator.lifecycle import By, State, Timeline, Transition, Wrap
from streams.dev.simulator.platform import AuthConfig, InteractionInfo, Platform
from streams.dev.simulator.server import PlatformServer
from streams.dev.simulator.workload import WorkloadParams
from streams.events import EventType
from streams.outcomes import Outcome
from streams.platforms.twilio import TwilioEvents
from streams.policy import WrapupCode

CODE = WrapupCode("wc-renewal", "Renewal - auto")
SECRET = "sim-secret"
DIALECT = load("twilio")
assert isinstance(DIALECT, TwilioDialect)


def task(name: str) -> str:
    return sid("WT", name)


@pytest.fixture
async def server() -> AsyncIterator[PlatformServer]:
    platform = Platform(auth=AuthConfig(client_secret=SECRET))
    async with PlatformServer(platform, dialect=DIALECT) as running:
        yield running


def add(platform: Platform, name: str, *, wrapping_in: float, acw: float = 60.0,
        agent_after: float | None = None) -> str:
    now = platform.clock()
    tid = task(name)
    wrapping = now + wrapping_in
    platform.add_interaction(
        InteractionInfo(tid, "agent-1", "c-renewals", "q-sales"),
        Timeline(now - 30, min(now, wrapping), wrapping, wrapping + acw,
                 None if agent_after is None else wrapping + agent_after,
                 None if agent_after is None else WrapupCode("wc-sales-sold", "Sold")))
    return tid


async def deliver(server: PlatformServer, tid: str, **env: str) -> tuple[Outcome, str]:
    settings = Settings.from_env({
        "WRAPUP_POLICY_JSON": '{"rules": [{"queue": "q-sales", "code": {"id": "wc-renewal",'
                              ' "label": "x"}}]}',
        **DIALECT.worker_env(server.base_url, server.platform.auth), **env})
    dispatcher = Dispatcher.from_settings(settings, backoff_base=0.05, backoff_cap=0.2)
    try:
        report = await dispatcher.deliver(DeliveryJob(tid, CODE, time.time() + 10))
    finally:
        await dispatcher.aclose()
    return report.outcome, report.reason


async def test_a_wrapping_task_is_completed_once_and_reads_back_completed(
        server: PlatformServer) -> None:
    tid = add(server.platform, "plain", wrapping_in=-1)
    assert await deliver(server, tid) == (Outcome.APPLIED, "posted")
    (post,) = server.platform.ledger.posts()
    assert (post.status, post.reason) == (200, "applied")
    wrap = server.platform.ledger.wrapup(tid)
    assert wrap is not None and (wrap.by, wrap.code_id) == ("api", "wc-renewal")
    reply = DIALECT.readback(server.platform, tid, server.platform.clock())
    doc = orjson.loads(reply.body)
    assert (doc["assignment_status"], doc["reason"]) == ("completed", "wc-renewal")


async def test_still_assigned_is_a_400_then_completed_once_wrapping(
        server: PlatformServer) -> None:
    tid = add(server.platform, "early", wrapping_in=1.5)  # the first POST comes sooner
    assert await deliver(server, tid, WRAPUP_API_MAX_ATTEMPTS="60") == (Outcome.APPLIED,
                                                                       "posted")
    reasons = [(r.status, r.reason) for r in server.platform.ledger.posts()]
    assert reasons[0] == (400, "not_ready") and reasons[-1] == (200, "applied")


async def test_the_agent_completed_first_nothing_is_overwritten(
        server: PlatformServer) -> None:
    tid = add(server.platform, "agent", wrapping_in=-2, agent_after=1)
    assert await deliver(server, tid) == (Outcome.SKIPPED, "wrapped_by_other_code")
    wrap = server.platform.ledger.wrapup(tid)
    assert wrap is not None and (wrap.by, wrap.code_id) == ("agent", "wc-sales-sold")
    assert [r.reason for r in server.platform.ledger.posts()] == ["already_wrapped"]


async def test_wrong_credentials_are_a_401_in_twilio_form(server: PlatformServer) -> None:
    tid = add(server.platform, "auth", wrapping_in=-1)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        refused = await http.get(f"/v1/Workspaces/{DIALECT.workspace_sid}/Tasks/{tid}",
                                 auth=(DIALECT.api_key_sid, "wrong"))
        other = await http.get(f"/v1/Workspaces/WS{'0' * 32}/Tasks/{tid}",
                               auth=(DIALECT.api_key_sid, SECRET))
    assert refused.status_code == 401
    assert refused.json() == {"code": 20003, "message": "Authenticate", "status": 401,
                              "more_info": "https://www.twilio.com/docs/errors/20003"}
    assert other.status_code == 404  # another workspace's tasks are not served
    assert await deliver(server, tid, WRAPUP_TWILIO_API_KEY_SECRET="wrong") == (
        Outcome.FAILED, "unauthorized")
    assert server.platform.ledger.wrapup(tid) is None


async def test_a_form_with_attributes_is_refused(server: PlatformServer) -> None:
    tid = add(server.platform, "attrs", wrapping_in=-1)
    async with httpx.AsyncClient(base_url=server.base_url,
                                 auth=(DIALECT.api_key_sid, SECRET)) as http:
        answer = await http.post(f"/v1/Workspaces/{DIALECT.workspace_sid}/Tasks/{tid}",
                                 data={"AssignmentStatus": "completed", "Reason": "wc-renewal",
                                       "Attributes": "{}"})
    assert answer.status_code == 400 and answer.json()["code"] == 20001
    assert server.platform.ledger.wrapup(tid) is None


def test_the_plan_uses_task_sids_and_never_loses_the_ended_event() -> None:
    workload = DIALECT.plan(WorkloadParams(interactions=50, lost_fraction=0.5, seed=3))
    assert all(p.interaction_id.startswith("WT") and len(p.interaction_id) == 34
               for p in workload.interactions)
    assert not any(p.ended_event.lost for p in workload.interactions)
    assert any(p.wrapping_up_event.lost for p in workload.interactions)


def test_every_message_decodes_with_the_product_dialect() -> None:
    platform = Platform()
    workload = DIALECT.plan(WorkloadParams(interactions=1, seed=4))
    plan = workload.interactions[0]
    events = TwilioEvents(queue_field="name")
    now = 1_796_202_000.0
    wrap = Wrap(CODE, By.PLATFORM, now + 2, State.WRAPPING_UP)
    seen = []
    for transition in (Transition(State.ENDED, now), Transition(State.WRAPPING_UP, now + 1),
                       Transition(State.WRAPPED, now + 2, wrap)):
        for message in DIALECT.messages(platform, plan, transition):
            decoded = events.decode(message.value)
            assert isinstance(decoded, tuple), decoded
            seen.append([(e.type, e.interaction_id, e.queue_id, e.campaign_id,
                          e.wrapup_code_id) for e in decoded])
    ended = (EventType.ENDED, plan.interaction_id, plan.queue_id, plan.campaign_id, None)
    wrapping = (EventType.WRAPPING_UP, *ended[1:])
    assert seen == [[], [ended, wrapping], [ended, wrapping],
                    [(EventType.WRAPPED, *ended[1:4], "wc-renewal")]]
    form = DIALECT.messages(platform, plan, Transition(State.WRAPPED, now + 2, wrap))[0]
    assert parse_qs(form.value.decode())["TaskCompletedReason"] == ["wc-renewal"]


def test_the_baseline_speaks_taskrouter_too() -> None:
    platform = Platform()
    plan = DIALECT.plan(WorkloadParams(interactions=1, seed=4)).interactions[0]
    wrapup = DIALECT.messages(platform, plan, Transition(State.WRAPPING_UP, 1_796_202_000.0))
    events = [e for m in wrapup for e in DIALECT.baseline_ended(m.value)]
    assert [e.type for e in events].count(EventType.ENDED) == 2  # no de-duplication
    method, path, body, headers = DIALECT.baseline_request(events[0], CODE)
    assert (method, path) == ("POST", f"/v1/Workspaces/{DIALECT.workspace_sid}/Tasks/"
                                      f"{plan.interaction_id}")
    assert parse_qs(body.decode()) == {"AssignmentStatus": ["completed"],
                                       "Reason": ["wc-renewal"]}
    assert headers == {"Content-Type": "application/x-www-form-urlencoded"}
    authorization = DIALECT.baseline_authorization(AuthConfig(client_secret=SECRET))
    assert authorization is not None and authorization.startswith("Basic ")
    assert DIALECT.baseline_ended(b"not an event") == []
