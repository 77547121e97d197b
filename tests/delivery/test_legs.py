"""The dispatcher sets the wrap-up on the job's leg: every request names it (MockTransport)."""

from __future__ import annotations

from typing import Any

from streams.delivery import DeliveryJob, Dispatcher
from streams.outcomes import Outcome
from streams.platforms import Leg
from streams.platforms.base import ApiRequest, ApiSide
from streams.policy import WrapupCode
from tests.delivery.fixtures import (
    CODE,
    START,
    STATIC_TOKEN,
    FakePlatform,
    VirtualTime,
    interaction,
    make,
    reply,
)


class LegPaths:
    """The generic dialect, but with the leg in every path (as a per-leg platform does);
    remembers the legs it was asked about."""

    def __init__(self, inner: ApiSide) -> None:
        self.inner = inner
        self.legs: list[Leg] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _path(self, leg: Leg) -> str:
        self.legs.append(leg)
        return (f"/conversations/{leg.media_type}/{leg.interaction_id}/participants/"
                f"{leg.leg_id}/communications/{leg.communication_id}/wrapup")

    def wrapup_request(self, leg: Leg, code: WrapupCode) -> ApiRequest:
        request = self.inner.wrapup_request(leg, code)
        return ApiRequest(request.endpoint, request.method, self._path(leg), request.content,
                          request.headers)

    def readback_request(self, leg: Leg) -> ApiRequest:
        return ApiRequest("interaction", "GET", self._path(leg))


def dispatcher(platform: FakePlatform) -> tuple[Dispatcher, LegPaths]:
    d = make(platform, WRAPUP_API_TOKEN=STATIC_TOKEN)
    paths = LegPaths(d.platform)
    d.platform = paths
    return d, paths


LEG = Leg("conv-1", "part-b", "comm-b", "calls")
PATH = "/conversations/calls/conv-1/participants/part-b/communications/comm-b/wrapup"


def leg_job(**kw: Any) -> DeliveryJob:
    return DeliveryJob("conv-1", CODE, START + 120, decided_at=START - 1, leg_id="part-b",
                       communication_id="comm-b", media_type="calls", **kw)


async def test_the_post_is_made_on_the_jobs_leg_and_the_report_names_it() -> None:
    platform = FakePlatform(VirtualTime(), posts=[reply(200, {})])
    d, paths = dispatcher(platform)
    report = await d.deliver(leg_job())
    await d.aclose()
    assert (report.outcome, report.leg_id, report.interaction_id) == (Outcome.APPLIED,
                                                                      "part-b", "conv-1")
    assert report.key == "conv-1/part-b"
    assert [s.path for s in platform.seen] == [PATH]
    assert paths.legs == [LEG]


async def test_read_back_first_reads_the_jobs_leg() -> None:
    platform = FakePlatform(VirtualTime(), gets=[interaction("wrapup", CODE.id)])
    d, paths = dispatcher(platform)
    report = await d.deliver(leg_job(readback_first=True))
    await d.aclose()
    assert (report.outcome, report.reason) == (Outcome.ALREADY_APPLIED, "readback_same_code")
    assert report.leg_id == "part-b"
    assert [(s.method, s.path) for s in platform.seen] == [("GET", PATH)]
    assert paths.legs == [LEG]


async def test_a_conflict_is_read_back_on_the_same_leg() -> None:
    platform = FakePlatform(VirtualTime(), posts=[reply(409, {"message": "?"})],
                            gets=[interaction("wrapup", "wc-other")])
    d, paths = dispatcher(platform)
    report = await d.deliver(leg_job())
    await d.aclose()
    assert report.outcome is Outcome.SKIPPED and report.leg_id == "part-b"
    assert {s.path for s in platform.seen} == {PATH}
    assert set(paths.legs) == {LEG}


def test_a_job_without_a_leg_is_the_interactions_only_leg() -> None:
    job = DeliveryJob("int-1", CODE, START)
    assert job.leg == Leg("int-1") and job.key == "int-1"
    assert job.log_extra == {"interaction_id": "int-1"}
    assert leg_job().log_extra == {"interaction_id": "conv-1", "leg_id": "part-b"}
