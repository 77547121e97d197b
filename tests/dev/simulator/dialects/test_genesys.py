"""The simulator's Genesys mode: its plan, its endpoints over real HTTP, its payloads as
the Genesys profile decodes them (an in-memory publisher: Kafka is the e2e tests')."""

from __future__ import annotations

import base64
from collections import Counter, defaultdict

import httpx
import orjson
import pytest

from streams.dev.simulator.bridge import Bridge
from streams.dev.simulator.dialects import load
from streams.dev.simulator.dialects.genesys import GenesysDialect
from streams.dev.simulator.dialects.genesys_plan import TIMEOUT_CODE, communication_of
from streams.dev.simulator.distributions import fixed
from streams.dev.simulator.lifecycle import Timeline
from streams.dev.simulator.platform import AuthConfig, InteractionInfo, Platform
from streams.dev.simulator.server import PlatformServer
from streams.dev.simulator.workload import LegPlan, PlannedInteraction, WorkloadParams
from streams.events import Event, EventType, Rejection, split_leg_key
from streams.platforms.genesys import GenesysEvents
from streams.policy import WrapupCode
from tests.helpers import async_wait_for
from tests.platforms.genesys.fixtures import AGENT_A, COMM_A, CONVERSATION, raw

AUTH = AuthConfig("gc-client", "gc-secret")


def test_the_plan_has_transfers_each_leg_on_its_own_queue() -> None:
    d = GenesysDialect(transfer_fraction=0.5, not_required_fraction=0.3)
    plan = d.plan(WorkloadParams(interactions=200, seed=5))
    assert plan == d.plan(WorkloadParams(interactions=200, seed=5))
    by_conversation: dict[str, list[PlannedInteraction]] = defaultdict(list)
    for leg in plan.interactions:
        assert leg.leg is not None
        assert leg.interaction_id == f"{leg.leg.conversation_id}/{leg.leg.participant_id}"
        assert leg.leg.communication_id == communication_of(leg.interaction_id)
        assert leg.expected_code == plan.scenario.policy.resolve(None, leg.queue_id)
        by_conversation[leg.leg.conversation_id].append(leg)
    sizes = Counter(len(v) for v in by_conversation.values())
    assert set(sizes) == {1, 2} and 60 < sizes[2] < 140
    for legs in by_conversation.values():
        if len(legs) == 2:
            a, b = sorted(legs, key=lambda x: x.created_at)
            assert a.queue_id != b.queue_id and a.ended_at == b.created_at
            assert a.leg is not None and a.leg.siblings == (a.interaction_id, b.interaction_id)
    assert 30 < sum(1 for v in by_conversation.values() if v[0].leg and v[0].leg.silent) < 90
    assert plan.scenario.acw_timeout_code == TIMEOUT_CODE


def _leg(platform: Platform, conversation: str, participant: str, queue: str,
         *, wrapping_in: float = -1.0) -> str:
    key = f"{conversation}/{participant}"
    now = platform.clock()
    start = now + wrapping_in
    platform.add_interaction(InteractionInfo(key, "user-1", "c-renewals", queue),
                             Timeline(now - 5, start - 1, start, start + 60))
    return key


async def test_the_endpoints_over_http() -> None:
    d = GenesysDialect(rate_per_minute=20)
    platform = Platform(d.plan(WorkloadParams(interactions=0)).scenario, auth=AUTH)
    a = _leg(platform, "conv-1", "part-a", "q-sales")
    b = _leg(platform, "conv-1", "part-b", "q-retention")
    late = _leg(platform, "conv-2", "part-c", "q-sales", wrapping_in=30)
    server = PlatformServer(platform, dialect=d)
    async with server, httpx.AsyncClient(base_url=await _started(server)) as http:
        basic = base64.b64encode(b"gc-client:gc-secret").decode()
        token = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                headers={"Authorization": f"Basic {basic}"})
        assert token.status_code == 200
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        base = "/api/v2/conversations/calls"
        comm_a = communication_of(a)
        post_a = f"{base}/conv-1/participants/part-a/communications/{comm_a}/wrapup"
        first = await http.post(post_a, json={"code": "wc-sales-auto", "name": "Sales - auto"})
        assert (first.status_code, first.content) == (202, b"")
        assert first.headers["inin-ratelimit-allowed"] == "20"
        assert first.headers["inin-ratelimit-count"] == "1"
        again = await http.post(post_a, json={"code": "wc-sales-auto"})
        assert again.status_code == 409 and set(again.json()) >= {"message", "code", "status",
                                                                  "contextId"}
        early = await http.post(f"{base}/conv-2/participants/part-c/communications/"
                                f"{communication_of(late)}/wrapup", json={"code": "wc-sales-auto"})
        assert early.json()["code"] == again.json()["code"]  # indistinguishable, as documented
        read = await http.get(post_a)
        assert read.status_code == 200 and read.json()["code"] == "wc-sales-auto"
        assert "name" not in read.json()  # AssignedWrapupCode has no name
        assert (await http.get(f"{base}/conv-1/participants/part-b/wrapup")).status_code == 404
        extra = await http.patch(f"{base}/conv-1/participants/part-b",
                                 json={"wrapup": {"code": "wc-retention-auto"}, "state": "x"})
        assert extra.status_code == 403
        patched = await http.patch(f"{base}/conv-1/participants/part-b",
                                   json={"wrapup": {"code": "wc-retention-auto"}})
        assert patched.status_code == 202
        wrong = await http.post(f"{base}/conv-1/participants/part-b/communications/nope/wrapup",
                                json={"code": "wc-retention-auto"})
        assert wrong.status_code == 404
        answers = [await http.get(f"{base}/conv-1/participants/part-b/wrapup")
                   for _ in range(20)]
        limited = [r for r in answers if r.status_code == 429]
        assert limited and int(limited[0].headers["Retry-After"]) >= 1
        assert limited[0].headers["inin-ratelimit-count"] == "20"
    ledger = platform.ledger
    assert ledger.wrapup(a) is not None and ledger.wrapup(b) is not None
    assert [r.reason for r in ledger.posts(a)] == ["applied", "already_wrapped"]
    assert [r.reason for r in ledger.posts(b)] == ["forbidden", "applied"]
    assert [r.reason for r in ledger.posts(late)] == ["not_ready"]


async def _started(server: PlatformServer) -> str:
    return server.base_url


class _Memory:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes]] = []

    async def send(self, key: bytes | None, value: bytes) -> None:
        self.sent.append((key, value))

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("envelope", ["notification", "eventbridge", "mixed"])
async def test_the_payloads_decode_to_each_legs_lifecycle(envelope: str) -> None:
    d = load("genesys", envelope=envelope, transfer_fraction=0.5, not_required_fraction=0.5)
    workload = d.plan(WorkloadParams(interactions=30, seed=3, rate=50.0, agent_pick_probability=0.3,
                                     talk=fixed(0.4), transition=fixed(0.05),
                                     acw_timeout=fixed(0.3), agent_pick_delay=fixed(0.1),
                                     duplicate_fraction=0.0, reorder_fraction=0.0))
    platform = Platform(workload.scenario, auth=AUTH)
    memory = _Memory()
    bridge = Bridge(platform, workload, memory, speed=1.0, dialect=d)
    await bridge.start(lead=0.05)
    try:
        await async_wait_for(lambda: bridge.done.is_set(), timeout=20, message="bridge done")
    finally:
        await bridge.stop()
    decode = GenesysEvents().decode
    seen: dict[str, list[Event]] = defaultdict(list)
    plans = workload.by_id()
    for key, value in memory.sent:
        out = decode(value)
        assert not isinstance(out, Rejection), out
        for e in out:
            assert key == e.interaction_id.encode()  # keyed by the conversation
            seen[e.key].append(e)
    silent = {f"{p.leg.conversation_id}/{s[0]}" for p in plans.values() if p.leg
              for s in p.leg.silent}
    assert silent and not silent & set(seen)  # wrapupRequired=false: no events
    assert set(seen) == set(plans)
    for key, events in seen.items():
        first = {t: min(e.occurred_at for e in events if e.type is t) for t in EventType}
        assert first[EventType.ENDED] < first[EventType.WRAPPING_UP] <= first[EventType.WRAPPED]
        wrap = platform.ledger.wrapup(key)
        assert wrap is not None
        codes = {e.wrapup_code_id for e in events if e.type is EventType.WRAPPED}
        assert codes == {wrap.code_id}
        by = {e.wrapped_by for e in events if e.type is EventType.WRAPPED}
        assert by == {"platform" if wrap.by == "platform" else "unknown"}
        assert any(e.communication_id == communication_of(key) for e in events
                   if e.type is EventType.WRAPPING_UP)
        assert split_leg_key(key)[1] == plans[key].leg.participant_id  # type: ignore[union-attr]
        assert {e.queue_id for e in events} == {plans[key].queue_id}
    by_who = Counter(w.by for w in platform.ledger.wrapups.values())
    assert by_who["platform"] > 0 and by_who["agent"] > 0


def test_only_some_topics() -> None:
    with pytest.raises(ValueError):
        GenesysDialect(topics=("presence",))
    assert GenesysDialect(topics=("calls",)).topics == ("calls",)
    assert LegPlan("c", "p", "m").siblings == ()


def test_the_baseline_reads_and_posts_in_the_dialect() -> None:
    code = WrapupCode("wc-sales-auto", "Sales - auto")
    d = GenesysDialect()
    (ended,) = d.baseline_ended(raw("eventbridge_detail_user_end.json"))
    assert (ended.key, ended.communication_id) == (f"{CONVERSATION}/{AGENT_A}", COMM_A)
    assert d.baseline_ended(raw("detail_acw.json")) == [] and d.baseline_ended(b"{") == []
    method, path, body, _ = d.baseline_request(ended, code)
    assert (method, path, orjson.loads(body)) == (
        "POST", f"/api/v2/conversations/calls/{CONVERSATION}/participants/{AGENT_A}"
        f"/communications/{COMM_A}/wrapup", {"code": code.id, "name": code.label})
    (flat,) = d.baseline_ended(raw("calls_disconnected.json"))
    assert d.baseline_request(flat, code)[:2] == (
        "PATCH", f"/api/v2/conversations/calls/{CONVERSATION}/participants/{AGENT_A}")
    generic = load("generic")
    g_method, g_path, g_body, _ = generic.baseline_request(flat._replace(leg_id=None), code)
    assert (g_method, g_path, orjson.loads(g_body)) == (
        "POST", f"/api/v2/conversations/interactions/{CONVERSATION}/wrapup",
        {"wrapupCode": {"id": code.id, "label": code.label}})
    assert d.baseline_once_per_leg and not generic.baseline_once_per_leg
