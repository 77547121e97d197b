"""The simulator's CXone dialect, against the product's own CXone dialect: its records
decode to the right events, and the product's dispatcher delivers over real loopback HTTP
(token, discovery, read back first, POST; agent first, ACW timeout first, a 429 burst with
Retry-After, 5xx, an expired token)."""

from __future__ import annotations

import asyncio
import time

import httpx

from streams.config import Settings
from streams.delivery import DeliveryJob, Dispatcher
from streams.dev.simulator.dialects import load
from streams.dev.simulator.dialects.cxone import CxoneDialect, cxone_scenario, session_of
from streams.dev.simulator.lifecycle import State, Timeline
from streams.dev.simulator.platform import AuthConfig, InteractionInfo, Platform
from streams.dev.simulator.server import PlatformServer
from streams.dev.simulator.workload import WorkloadParams
from streams.events import EventType, Rejection
from streams.outcomes import Outcome
from streams.platforms import Leg
from streams.platforms.cxone import CxoneEvents
from streams.policy import WrapupCode
from tests.helpers import async_wait_for

AUTH = AuthConfig(client_id="sim-client", client_secret="sim-secret-value")
CODE = WrapupCode("7001", "Sales - auto")


class Job(DeliveryJob):
    """A job on a contact in its agent's session (the per-leg join gives it so)."""

    @property
    def leg(self) -> Leg:
        return Leg(self.interaction_id, communication_id=session_of("agent-1"))


def platform_with(contact: str = "500001", *, acw: float = 30.0,
                  agent_after: float | None = None, agent_code: str = "7102") -> Platform:
    platform = Platform(cxone_scenario(), auth=AUTH)
    now = platform.clock()
    picked = None if agent_after is None else now - 1 + agent_after
    platform.add_interaction(
        InteractionInfo(contact, "agent-1", "c-inbound", "4354"),
        Timeline(now - 3, now - 2, now - 1, now - 1 + acw, picked,
                 None if picked is None else cxone_scenario().valid_codes("4354")[agent_code]))
    return platform


def dispatcher(server: PlatformServer, *, backoff: float = 0.01) -> Dispatcher:
    env = {"WRAPUP_POLICY_JSON": cxone_scenario().policy_json().decode(),
           "WRAPUP_API_RATE_LIMIT": "1000", "WRAPUP_API_TIMEOUT_SECONDS": "2",
           **CxoneDialect().worker_env(server.base_url, AUTH)}
    return Dispatcher.from_settings(Settings.from_env(env), backoff_base=backoff,
                                    backoff_cap=5 * backoff)


def kinds(platform: Platform) -> list[tuple[str, str, int]]:
    return [(r.method, r.path.rsplit("/", 2)[-2] if "InContactAPI" in r.path else r.path,
             r.status) for r in platform.ledger.requests]


def test_registered_and_planned_with_numeric_codes() -> None:
    dialect = load("cxone")
    assert isinstance(dialect, CxoneDialect)
    workload = dialect.plan(WorkloadParams(interactions=20, seed=3))
    assert all(p.queue_id.isdigit() for p in workload.interactions)
    assert all(r.code.id.isdigit() and r.queue is not None and r.campaign is None
               for r in workload.scenario.rules)


def test_its_records_decode_to_the_products_events() -> None:
    dialect, events = CxoneDialect(), CxoneEvents()
    workload = dialect.plan(WorkloadParams(interactions=1, seed=1, agent_pick_probability=0))
    plan = workload.interactions[0]
    platform = Platform(workload.scenario, auth=AUTH)
    t0 = platform.clock() - plan.acw_deadline - 1  # everything is over by now
    platform.add_interaction(InteractionInfo(plan.interaction_id, plan.agent_id,
                                             plan.campaign_id, plan.queue_id),
                             plan.timeline(t0))
    seen = []
    for transition in platform.settle(plan.interaction_id):
        for message in dialect.messages(platform, plan, transition):
            decoded = events.decode(message.value)
            assert not isinstance(decoded, Rejection), decoded
            seen.append([e.type for e in decoded])
            assert all(e.interaction_id == plan.interaction_id
                       and e.queue_id in (plan.queue_id, None)  # AgentState names no skill
                       and e.communication_id == session_of(plan.agent_id) for e in decoded)
    assert seen == [[EventType.ENDED], [EventType.WRAPPING_UP],
                    [EventType.ENDED, EventType.WRAPPED]]  # closed by the ACW timeout


async def test_the_product_reads_back_then_posts_over_http() -> None:
    platform = platform_with()
    async with PlatformServer(platform, dialect=CxoneDialect()) as server:
        d = dispatcher(server)
        report = await d.deliver(Job("500001", CODE, deadline=time.time() + 30))
        await d.aclose()
    assert (report.outcome, report.attempts) == (Outcome.APPLIED, 1)
    assert [(m, p, s) for m, p, s in kinds(platform)] == [
        ("POST", "/auth/token", 200), ("GET", "/.well-known/cxone-configuration", 200),
        ("GET", "500001", 204), ("POST", "500001", 202)]
    post = platform.ledger.posts()[0]
    assert f"/agent-sessions/{session_of('agent-1')}/interactions/500001/" in post.path
    wrap = platform.ledger.wrapup("500001")
    assert wrap is not None and (wrap.by, wrap.code_id) == ("api", "7001")


async def test_an_agents_disposition_is_read_back_and_never_posted_over() -> None:
    platform = platform_with(agent_after=0.5)
    async with PlatformServer(platform, dialect=CxoneDialect()) as server:
        d = dispatcher(server)
        report = await d.deliver(Job("500001", CODE, deadline=time.time() + 30))
        await d.aclose()
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.SKIPPED, "wrapped_by_other_code", 0)
    assert platform.ledger.posts() == []
    wrap = platform.ledger.wrapup("500001")
    assert wrap is not None and (wrap.by, wrap.code_id) == ("agent", "7102")


async def test_after_the_acw_timeout_there_is_no_disposition_to_set() -> None:
    platform = platform_with(acw=0.5)  # ACW ended half a second ago: the contact is closed
    assert platform.state("500001") is State.WRAPPED
    async with PlatformServer(platform, dialect=CxoneDialect()) as server:
        d = dispatcher(server)
        report = await d.deliver(Job("500001", CODE, deadline=time.time() - 1))
        await d.aclose()
    assert report.outcome is Outcome.FAILED and report.reason == "deadline_exceeded"
    wrap = platform.ledger.wrapup("500001")
    assert wrap is not None and wrap.by == "platform"  # no disposition of ours


async def test_a_5xx_burst_is_retried_to_one_disposition() -> None:
    platform = platform_with()
    platform.set_chaos(error_fraction=1.0, error_statuses=(503,))
    async with PlatformServer(platform, dialect=CxoneDialect()) as server:
        d = dispatcher(server, backoff=0.1)  # 8 attempts: a few s of backoff in all
        delivery = asyncio.ensure_future(d.deliver(Job("500001", CODE,
                                                       deadline=time.time() + 30)))
        # Every read (the read before each POST) fails until two have: then the burst ends.
        await async_wait_for(lambda: sum(r.status == 503 for r in platform.ledger.requests)
                             >= 2, timeout=10, interval=0.005)
        platform.set_chaos(error_fraction=0.0)
        report = await delivery
        await d.aclose()
    assert report.outcome is Outcome.APPLIED
    assert any(r.status == 503 for r in platform.ledger.requests), "the burst happened"
    assert [r.status for r in platform.ledger.posts()].count(202) == 1


async def test_a_429_burst_waits_retry_after_then_one_disposition() -> None:
    platform = platform_with()
    async with PlatformServer(platform, dialect=CxoneDialect()) as server:
        d = dispatcher(server)
        platform.burst_429(2)  # the next two API requests: 429, Retry-After: 1
        report = await d.deliver(Job("500001", CODE, deadline=time.time() + 30))
        await d.aclose()
    assert report.outcome is Outcome.APPLIED
    api = [r for r in platform.ledger.requests if "InContactAPI" in r.path]
    assert [r.status for r in api][:2] == [429, 429]
    assert api[2].at - api[1].at >= 0.9  # Retry-After honoured
    assert [r.status for r in platform.ledger.posts()].count(202) == 1


async def test_an_expired_token_is_refreshed_without_a_new_discovery() -> None:
    platform = platform_with()
    platform.add_interaction(InteractionInfo("500002", "agent-1", "c-inbound", "4354"),
                             platform.lifecycle("500001").timeline)
    async with PlatformServer(platform, dialect=CxoneDialect()) as server:
        d = dispatcher(server)
        first = await d.deliver(Job("500001", CODE, deadline=time.time() + 30))
        platform.expire_tokens()
        second = await d.deliver(Job("500002", CODE, deadline=time.time() + 30))
        await d.aclose()
    assert first.outcome is second.outcome is Outcome.APPLIED
    statuses = [(m, p, s) for m, p, s in kinds(platform)]
    assert statuses.count(("POST", "/auth/token", 200)) == 2
    assert statuses.count(("GET", "/.well-known/cxone-configuration", 200)) == 1
    assert ("GET", "500002", 401) in statuses


async def test_a_wrong_access_key_or_grant_is_refused() -> None:

    platform = platform_with()
    async with PlatformServer(platform, dialect=CxoneDialect()) as server, \
            httpx.AsyncClient(base_url=server.base_url) as http:
        wrong = await http.post("/auth/token", auth=(AUTH.client_id, AUTH.client_secret),
                                data={"grant_type": "password", "username": "x",
                                      "password": "y"})
        grant = await http.post("/auth/token", auth=(AUTH.client_id, AUTH.client_secret),
                                data={"grant_type": "client_credentials"})
        tenant = await http.get("/.well-known/cxone-configuration",
                                params={"tenantId": "other"})
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_grant"})
    assert (grant.status_code, grant.json()) == (400, {"error": "unsupported_grant_type"})
    assert tenant.status_code == 404
