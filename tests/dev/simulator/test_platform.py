"""The simulated API over real loopback HTTP: every status code reachable and correct."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from streams.dev.simulator.ledger import RequestRecord
from streams.dev.simulator.lifecycle import State, Timeline, Transition
from streams.dev.simulator.platform import (
    ALREADY_WRAPPED_MESSAGE,
    NOT_READY_MESSAGE,
    AuthConfig,
    InteractionInfo,
    Platform,
)
from streams.dev.simulator.scenario import default_scenario
from streams.dev.simulator.server import PlatformServer

AUTH = AuthConfig(client_id="test-client", client_secret="test-secret", token_ttl=60.0)
RENEWAL = {"wrapupCode": {"id": "wc-renewal", "label": "Renewal - auto"}}
URL = "/api/v2/conversations/interactions/{}"


@dataclass
class FakeClock:
    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Sim:
    platform: Platform
    clock: FakeClock
    http: httpx.AsyncClient
    headers: dict[str, str]

    def add(self, iid: str, *, ended_in: float = 10.0, transition: float = 2.0,
            acw: float = 30.0, agent_after: float | None = None,
            campaign: str = "c-renewals", queue: str = "q-sales") -> None:
        now = self.clock.now
        code = default_scenario().queue(queue).agent_codes[0] if agent_after is not None else None
        wrapping = now + ended_in + transition
        self.platform.add_interaction(
            InteractionInfo(iid, "agent-001", campaign, queue),
            Timeline(now, now + ended_in, wrapping, wrapping + acw,
                     None if agent_after is None else wrapping + agent_after, code),
        )

    async def post(self, iid: str, body: object = RENEWAL, **kw: object) -> httpx.Response:
        headers = kw.pop("headers", self.headers)
        return await self.http.post(URL.format(iid) + "/wrapup", json=body,
                                    headers=headers, **kw)  # type: ignore[arg-type]

    async def get(self, iid: str) -> httpx.Response:
        return await self.http.get(URL.format(iid), headers=self.headers)

    def last(self) -> RequestRecord:
        return self.platform.ledger.requests[-1]


async def token(http: httpx.AsyncClient) -> str:
    resp = await http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "test-client",
        "client_secret": "test-secret"})
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["token_type"] == "bearer" and doc["expires_in"] == 60
    return str(doc["access_token"])


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    clock = FakeClock()
    platform = Platform(auth=AUTH, clock=clock)
    async with PlatformServer(platform) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5.0) as http:
            headers = {"Authorization": f"Bearer {await token(http)}"}
            yield Sim(platform, clock, http, headers)


async def test_wrapup_is_refused_until_wrapping_up_then_applied_once(sim: Sim) -> None:
    sim.add("ix-1")
    for state, advance in ((State.ACTIVE, 0.0), (State.ENDED, 10.5)):
        sim.clock.now += advance
        resp = await sim.post("ix-1")
        assert resp.status_code == 409
        assert resp.json()["message"] == NOT_READY_MESSAGE
        assert (sim.last().reason, sim.last().state) == ("not_ready", state.value)
    sim.clock.now += 1.6  # 12.1 s: wrapping-up
    resp = await sim.post("ix-1")
    assert resp.status_code == 200
    assert resp.json()["state"] == "wrapped"
    again = await sim.post("ix-1")
    assert again.status_code == 409
    assert again.json()["message"] == ALREADY_WRAPPED_MESSAGE
    assert again.json()["code"] != resp.json().get("code")
    ledger = sim.platform.ledger
    assert ledger.applied_by_api("ix-1") == 1
    assert [r.reason for r in ledger.posts_after_wrapped()] == ["already_wrapped"]
    wrap = ledger.wrapup("ix-1")
    assert wrap is not None and (wrap.by, wrap.code_id, wrap.state) == (
        "api", "wc-renewal", "wrapping-up")
    assert wrap.latency == pytest.approx(0.1)
    shown = (await sim.get("ix-1")).json()
    assert shown["state"] == "wrapped"
    assert shown["wrapupCode"] == {"id": "wc-renewal", "label": "Renewal - auto"}
    assert shown["wrapupSource"] == "api"


async def test_agent_and_acw_timeout_wraps_show_in_get_and_block_posts(sim: Sim) -> None:
    sim.add("ix-agent", agent_after=5.0)
    sim.add("ix-acw", acw=30.0)
    sim.clock.now += 20.0
    agent = (await sim.get("ix-agent")).json()
    assert (agent["state"], agent["wrapupSource"]) == ("wrapped", "agent")
    assert agent["wrapupCode"]["id"] == "wc-sales-sale"
    assert (await sim.post("ix-agent")).status_code == 409
    assert sim.last().reason == "already_wrapped"
    sim.clock.now += 30.0
    acw = (await sim.get("ix-acw")).json()
    assert (acw["state"], acw["wrapupSource"]) == ("wrapped", "platform")
    assert acw["wrapupCode"]["id"] == "wc-acw-timeout"
    assert {w.by for w in sim.platform.ledger.wrapups.values()} == {"agent", "platform"}


async def test_unknown_and_not_yet_created_interactions_are_404(sim: Sim) -> None:
    assert (await sim.post("ix-nope")).status_code == 404
    assert (await sim.get("ix-nope")).status_code == 404
    now = sim.clock.now
    sim.platform.add_interaction(InteractionInfo("ix-later", "a", "c-renewals", "q-sales"),
                                 Timeline(now + 5, now + 10, now + 11, now + 40))
    assert (await sim.get("ix-later")).status_code == 404
    sim.clock.now += 6
    assert (await sim.get("ix-later")).json()["state"] == "active"


async def test_bad_bodies_and_codes_not_valid_for_the_queue_are_400(sim: Sim) -> None:
    sim.add("ix-b", ended_in=0.0, transition=0.0, queue="q-billing", campaign="c-collections")
    for body in ({"wrapupCode": {}}, {"code": "x"}, ["x"]):
        resp = await sim.post("ix-b", body)
        assert resp.status_code == 400 and sim.last().reason == "bad_request"
    resp = await sim.http.post(URL.format("ix-b") + "/wrapup", content=b"{not json",
                               headers=sim.headers)
    assert resp.status_code == 400
    resp = await sim.post("ix-b", {"wrapupCode": {"id": "wc-promo", "label": "Promo"}})
    assert resp.status_code == 400 and "q-billing" in resp.json()["message"]
    assert sim.last().reason == "invalid_code"
    assert sim.platform.state("ix-b") is State.WRAPPING_UP  # nothing was applied
    ok = await sim.post("ix-b", {"wrapupCode": {"id": "wc-collections", "label": "C"}})
    assert ok.status_code == 200


async def test_tokens_missing_unknown_expired_and_forced_expiry_are_401(sim: Sim) -> None:
    sim.add("ix-t", ended_in=0, transition=0, acw=300.0)
    cases = [({}, "unauthorized"), ({"Authorization": "Bearer nope"}, "token_invalid"),
             ({"Authorization": "Basic eDp5"}, "unauthorized")]
    for headers, reason in cases:
        resp = await sim.post("ix-t", headers=headers)
        assert resp.status_code == 401 and "message" in resp.json()
        assert sim.last().reason == reason
    sim.clock.now += 61
    assert (await sim.get("ix-t")).status_code == 401
    assert sim.last().reason == "token_expired"
    fresh = {"Authorization": f"Bearer {await token(sim.http)}"}
    assert (await sim.http.get(URL.format("ix-t"), headers=fresh)).status_code == 200
    assert (await sim.http.post("/_sim/expire-tokens")).json()["expired"] >= 2
    assert (await sim.http.get(URL.format("ix-t"), headers=fresh)).status_code == 401
    assert sim.platform.ledger.wrapup("ix-t") is None  # no 401 ever applied anything


async def test_token_endpoint_rejects_bad_clients_and_accepts_basic_auth(sim: Sim) -> None:
    bad = await sim.http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "test-client", "client_secret": "x"})
    assert bad.status_code == 401 and bad.json() == {"error": "invalid_client"}
    grant = await sim.http.post("/oauth/token", data={"grant_type": "password"})
    assert grant.status_code == 400
    basic = await sim.http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                auth=("test-client", "test-secret"))
    assert basic.status_code == 200
    secrets_seen = [r for r in sim.platform.ledger.requests if "test-secret" in repr(r)]
    assert secrets_seen == []
    assert "test-secret" not in repr(sim.platform.auth)


async def test_rate_limit_and_bursts_answer_429_with_retry_after(sim: Sim) -> None:
    sim.add("ix-r", ended_in=0, transition=0)
    sim.platform.set_chaos(rate_limit=3)
    statuses = [(await sim.get("ix-r")).status_code for _ in range(3)]
    limited = await sim.get("ix-r")
    assert statuses == [200, 200, 200] and limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    sim.clock.now += 1.01  # the window slides
    assert (await sim.get("ix-r")).status_code == 200
    resp = await sim.http.post("/_sim/chaos", json={"rate_limit": None, "burst_429": 2,
                                                    "retry_after_seconds": 7})
    assert resp.status_code == 200 and resp.json()["rate_limit"] is None
    burst = [await sim.post("ix-r") for _ in range(3)]
    assert [r.status_code for r in burst] == [429, 429, 200]
    assert burst[0].headers["Retry-After"] == "7"


async def test_injected_errors_latency_and_timeouts(sim: Sim) -> None:
    sim.add("ix-c", ended_in=0, transition=0)
    sim.platform.set_chaos(error_fraction=1.0, error_statuses=(503,))
    resp = await sim.post("ix-c")
    assert resp.status_code == 503 and sim.last().reason == "injected_error"
    assert sim.platform.state("ix-c") is State.WRAPPING_UP
    sim.platform.set_chaos(error_fraction=0.0, timeout_fraction=1.0, hold_seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        await sim.post("ix-c", timeout=0.2)
    assert sim.last().reason == "injected_timeout"
    sim.platform.set_chaos(timeout_mode="drop")
    with pytest.raises(httpx.HTTPError):
        await sim.post("ix-c")
    assert (sim.last().status, sim.last().reason) == (0, "injected_timeout")
    assert sim.platform.state("ix-c") is State.WRAPPING_UP
    sim.platform.set_chaos(timeout_fraction=0.0, latency_seconds=0.25)
    began = time.monotonic()
    assert (await sim.get("ix-c")).status_code == 200
    assert time.monotonic() - began >= 0.25
    with pytest.raises(ValueError):
        sim.platform.set_chaos(no_such_knob=1)
    assert (await sim.http.post("/_sim/chaos", json={"error_fraction": 2})).status_code == 400


async def test_a_lost_response_still_applies_and_a_retry_sees_already_wrapped(sim: Sim) -> None:
    sim.add("ix-l", ended_in=0, transition=0)
    sim.platform.set_chaos(lost_response_fraction=1.0, hold_seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        await sim.post("ix-l", timeout=0.2)
    sim.platform.set_chaos(lost_response_fraction=0.0)
    retry = await sim.post("ix-l")
    assert retry.status_code == 409 and retry.json()["message"] == ALREADY_WRAPPED_MESSAGE
    ledger = sim.platform.ledger
    assert ledger.applied_by_api("ix-l") == 1 and len(ledger.posts_after_wrapped()) == 1
    shown = (await sim.get("ix-l")).json()
    assert shown["wrapupCode"]["id"] == "wc-renewal" and shown["wrapupSource"] == "api"


async def test_listeners_see_each_transition_once_and_admin_views(sim: Sim) -> None:
    seen: list[tuple[str, Transition]] = []
    sim.platform.add_listener(lambda info, t: seen.append((info.interaction_id, t)))
    sim.add("ix-e", ended_in=1, transition=1)
    sim.clock.now += 1.5
    sim.platform.settle("ix-e")
    sim.clock.now += 1.0
    assert (await sim.post("ix-e")).status_code == 200
    sim.platform.settle_all()
    assert [t.state for _, t in seen] == [State.ENDED, State.WRAPPING_UP, State.WRAPPED]
    summary = (await sim.http.get("/_sim/summary")).json()
    assert summary["wrapups_by"] == {"api": 1} and summary["states"] == {"wrapped": 1}
    ledger = (await sim.http.get("/_sim/ledger")).json()
    assert [w["interaction_id"] for w in ledger["wrapups"]] == ["ix-e"]
    assert ledger["requests"][-1]["reason"] == "applied"
    created = await sim.http.post("/_sim/interactions", json={
        "id": "ix-adhoc", "campaignId": "c-promo", "queueId": "q-support", "endedIn": 0})
    assert created.status_code == 201 and created.json()["state"] == "ended"
    listed = (await sim.http.get("/_sim/interactions")).json()
    assert {d["id"] for d in listed} == {"ix-e", "ix-adhoc"}
