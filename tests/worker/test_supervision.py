"""Delivery supervision with a fake dispatcher: durable first, bounded, resumed, drained."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from streams.config import Settings
from streams.join import InteractionState, Status
from streams.outcomes import DeliveryReport, Outcome
from streams.worker.supervision import DeliverySupervisor
from tests.worker.fixtures import worker_env


class FakeDispatcher:
    """Holds each delivery until released; records the jobs it was given."""

    def __init__(self) -> None:
        self.jobs: list[Any] = []
        self.running = 0
        self.peak = 0
        self.release = asyncio.Event()
        self.closed = False

    async def deliver(self, job: Any) -> DeliveryReport:
        self.jobs.append(job)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await self.release.wait()
        finally:
            self.running -= 1
        return DeliveryReport(job.interaction_id, Outcome.APPLIED, "applied")

    async def aclose(self) -> None:
        self.closed = True


def state(iid: str, partition: int = 0) -> InteractionState:
    return InteractionState(iid, Status.DISPATCHING, 1000.0, 9e9, partition=partition,
                            ended_at=1000.0, wrapping_up_at=1000.0, code_id="wc",
                            code_label="Code", paired_at=1000.0)


def supervisor(tmp_path: Path, table: dict[bytes, InteractionState], **env: str
               ) -> tuple[DeliverySupervisor, FakeDispatcher, list[tuple[bytes, str]]]:
    settings = Settings.from_env(worker_env("127.0.0.1:9", "t", "http://127.0.0.1:9",
                                            tmp_path, **env))
    fake = FakeDispatcher()
    published: list[tuple[bytes, str]] = []

    async def publish(key: bytes, partition: int, report: DeliveryReport,
                      st: InteractionState | None) -> None:
        published.append((key, report.outcome.value))

    sup = DeliverySupervisor(settings, settings.join_rules(), table.get, publish,
                             lambda _s: fake)  # type: ignore[arg-type,return-value]
    return sup, fake, published


async def until(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_no_request_before_the_decision_is_acknowledged(tmp_path: Path) -> None:
    sup, fake, published = supervisor(tmp_path, {})
    changelog: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    sup.start(b"i1", state("i1"), changelog, readback_first=False)
    await asyncio.sleep(0.05)
    assert fake.jobs == []
    changelog.set_result(None)
    fake.release.set()
    await until(lambda: published == [(b"i1", "applied")])
    assert fake.jobs[0].readback_first is False
    assert b"i1" not in sup  # forgotten once done


async def test_deliveries_in_flight_are_bounded_by_the_slots(tmp_path: Path) -> None:
    sup, fake, published = supervisor(tmp_path, {}, WRAPUP_MAX_IN_FLIGHT="3")
    for n in range(10):
        sup.start(f"i{n}".encode(), state(f"i{n}"), None, readback_first=False)
    await until(lambda: fake.running == 3)
    await asyncio.sleep(0.05)
    assert fake.running == 3
    fake.release.set()
    await until(lambda: len(published) == 10)
    assert fake.peak == 3


async def test_inherited_deliveries_resume_read_back_first_once_outcomes_caught_up(
    tmp_path: Path,
) -> None:
    table = {b"open": state("open"), b"done": state("done")._replace(status=Status.DONE)}
    sup, fake, _ = supervisor(tmp_path, table)
    fake.release.set()
    sup.inherit(0, [b"open", b"done"], outcomes_end=5, now=100.0)
    sup.maybe_resume(0, committed=None, now=101.0)
    await asyncio.sleep(0.05)
    assert fake.jobs == []  # outcomes 0..4 not processed yet
    sup.outcome_processed(0, 3)
    sup.maybe_resume(0, committed=None, now=102.0)
    await asyncio.sleep(0.05)
    assert fake.jobs == []
    sup.maybe_resume(0, committed=5, now=103.0)  # committed: none to read again
    await until(lambda: len(fake.jobs) == 1)
    assert fake.jobs[0].interaction_id == "open" and fake.jobs[0].readback_first


async def test_resumption_does_not_wait_past_the_grace_period(tmp_path: Path) -> None:
    sup, fake, _ = supervisor(tmp_path, {b"open": state("open")})
    fake.release.set()
    sup.inherit(0, [b"open"], outcomes_end=5, now=100.0)
    sup.maybe_resume(0, committed=None, now=100.0 + 61)
    await until(lambda: len(fake.jobs) == 1)


async def test_a_rebalance_stops_deliveries_of_lost_partitions_only(tmp_path: Path) -> None:
    sup, fake, _ = supervisor(tmp_path, {})
    sup.start(b"kept", state("kept", partition=0), None, readback_first=False)
    sup.start(b"lost", state("lost", partition=1), None, readback_first=False)
    await until(lambda: fake.running == 2)
    sup.on_assigned({0}, [1])
    await until(lambda: fake.running == 1)
    assert b"kept" in sup and b"lost" not in sup


async def test_drain_waits_a_bounded_time_then_cancels(tmp_path: Path) -> None:
    sup, fake, published = supervisor(tmp_path, {})
    sup.start(b"slow", state("slow"), None, readback_first=False)
    await until(lambda: fake.running == 1)
    await asyncio.wait_for(sup.drain(timeout=0.2), 5)
    assert fake.running == 0 and published == [] and fake.closed
