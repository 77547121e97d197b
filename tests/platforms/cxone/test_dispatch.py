"""The CXone dialect through the dispatcher and the real API client (MockTransport, virtual
time): read back before every POST, Retry-After, 5xx bursts, a token refresh."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import orjson
import pytest

from streams.delivery import DeliveryJob, Dispatcher
from streams.outcomes import Outcome
from streams.platforms import Leg
from streams.policy import WrapupCode
from tests.delivery.fixtures import START, VirtualTime
from tests.platforms.cxone.fixtures import doc, settings

CODE = WrapupCode("7001", "Renewal - auto")
HOST = "api-c32.example.test"


class CxoneJob(DeliveryJob):
    """A job whose leg carries the agent session (as the per-leg join will give it)."""

    @property
    def leg(self) -> Leg:
        return Leg(self.interaction_id, communication_id="58070815")


@dataclass
class FakeCxone:
    """Token, discovery, disposition POST and read-back; scripted answers (last repeats)."""

    clock: VirtualTime
    posts: list[httpx.Response] = field(default_factory=lambda: [httpx.Response(202)])
    saved: int | None = None  # the disposition on the contact
    revoked: set[str] = field(default_factory=set)
    seen: list[tuple[str, str, float]] = field(default_factory=list)  # kind, host, time
    minted: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/auth/token":
            self.minted += 1
            self.seen.append(("token", request.url.host, self.clock.now))
            return httpx.Response(200, content=orjson.dumps(dict(
                doc("token-response.json"), access_token=f"tok-{self.minted}")))
        if path == "/.well-known/cxone-configuration":
            self.seen.append(("discovery", request.url.host, self.clock.now))
            return httpx.Response(200, content=orjson.dumps(dict(
                doc("cxone-configuration.json"), api_endpoint=f"https://{HOST}")))
        kind = "post" if request.method == "POST" else "get"
        self.seen.append((kind, request.url.host, self.clock.now))
        if request.headers["Authorization"].removeprefix("Bearer ") in self.revoked:
            return httpx.Response(401)
        if kind == "get":
            if self.saved is None:
                return httpx.Response(200, content=b"{}")
            return httpx.Response(200, content=orjson.dumps(
                dict(doc("saved-disposition.json"), dispositionId=self.saved)))
        answer = self.posts.pop(0) if len(self.posts) > 1 else self.posts[0]
        if 200 <= answer.status_code < 300:
            self.saved = orjson.loads(request.content)["primaryDispositionId"]
        return answer

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.seen]


@pytest.fixture
def clock() -> VirtualTime:
    return VirtualTime()


def dispatcher(platform: FakeCxone) -> Dispatcher:
    return Dispatcher.from_settings(
        settings(WRAPUP_API_RATE_LIMIT="1000", WRAPUP_CXONE_ISSUER="https://auth.example.test"),
        transport=httpx.MockTransport(platform.handle), clock=platform.clock.time,
        monotonic=platform.clock.monotonic, sleep=platform.clock.sleep)


def job() -> CxoneJob:
    return CxoneJob("500001", CODE, deadline=START + 120)


async def test_reads_back_then_posts_to_the_discovered_host(clock: VirtualTime) -> None:
    platform = FakeCxone(clock)
    report = await dispatcher(platform).deliver(job())
    assert (report.outcome, report.reason, report.attempts) == (Outcome.APPLIED, "posted", 1)
    assert platform.kinds() == ["token", "discovery", "get", "post"]
    assert {host for kind, host, _ in platform.seen if kind in ("get", "post")} == {HOST}
    assert platform.saved == 7001


@pytest.mark.parametrize(("saved", "outcome", "reason"), [
    (7001, Outcome.ALREADY_APPLIED, "readback_same_code"),
    (7002, Outcome.SKIPPED, "wrapped_by_other_code"),
])
async def test_an_agents_disposition_is_never_overwritten(
        clock: VirtualTime, saved: int, outcome: Outcome, reason: str) -> None:
    platform = FakeCxone(clock, saved=saved)
    report = await dispatcher(platform).deliver(job())
    assert (report.outcome, report.reason, report.attempts) == (outcome, reason, 0)
    assert "post" not in platform.kinds() and platform.saved == saved


async def test_a_5xx_burst_is_retried_reading_back_before_each_post(clock: VirtualTime) -> None:
    platform = FakeCxone(clock, posts=[httpx.Response(503)] * 3 + [httpx.Response(202)])
    report = await dispatcher(platform).deliver(job())
    assert (report.outcome, report.attempts) == (Outcome.APPLIED, 4)
    assert platform.kinds()[2:] == ["get", "post"] * 4


async def test_an_agent_disposition_during_the_burst_stops_the_retries(
        clock: VirtualTime) -> None:
    platform = FakeCxone(clock, posts=[httpx.Response(503)])
    original = platform.handle

    def agent_saves_after_first_post(request: httpx.Request) -> httpx.Response:
        answer = original(request)
        if request.url.path.endswith("/disposition") and request.method == "POST":
            platform.saved = 7002  # the agent picks a code while we back off
        return answer

    platform.handle = agent_saves_after_first_post  # type: ignore[method-assign]
    report = await dispatcher(platform).deliver(job())
    assert (report.outcome, report.reason, report.attempts) == (
        Outcome.SKIPPED, "wrapped_by_other_code", 1)


async def test_retry_after_is_honoured(clock: VirtualTime) -> None:
    platform = FakeCxone(clock, posts=[httpx.Response(429, headers={"Retry-After": "3"}),
                                       httpx.Response(202)])
    report = await dispatcher(platform).deliver(job())
    assert report.outcome is Outcome.APPLIED
    posts = [at for kind, _, at in platform.seen if kind == "post"]
    assert len(posts) == 2 and posts[1] - posts[0] >= 3.0


async def test_a_revoked_token_is_refreshed_once_without_a_new_discovery(
        clock: VirtualTime) -> None:
    platform = FakeCxone(clock, revoked={"tok-1"})
    report = await dispatcher(platform).deliver(job())
    assert (report.outcome, report.attempts) == (Outcome.APPLIED, 1)
    assert platform.kinds() == ["token", "discovery", "get", "token", "get", "post"]


async def test_an_unexplained_400_is_settled_by_read_back(clock: VirtualTime) -> None:
    platform = FakeCxone(clock, posts=[httpx.Response(400), httpx.Response(202)])
    report = await dispatcher(platform).deliver(job())
    assert (report.outcome, report.attempts) == (Outcome.APPLIED, 2)
    assert platform.kinds()[2:] == ["get", "post", "get", "get", "post"]
