"""The worker's shell per agent leg, its I/O edges faked (no broker): the table is keyed by
the leg key while the record key stays the interaction ID, deliveries carry the leg, and
every outcomes record goes to the partition of the events its leg came from."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from streams.config import Settings
from streams.events import Event, EventType, Rejection
from streams.join import InteractionState, Status
from streams.outcomes import DeliveryReport, Outcome
from streams.platforms import Leg
from streams.topics import TopicLayout
from streams.worker import JoinWorker
from streams.worker.supervision import DeliverySupervisor
from tests.worker.fixtures import worker_env

POLICY = {"rules": [{"queue": "q-sales", "code": {"id": "wc-sales", "label": "Sales"}},
                    {"queue": "q-support", "code": {"id": "wc-support", "label": "Support"}}]}
QUEUES = {"a": "q-sales", "b": "q-support", "c": "q-sales"}
T0 = 1_790_000_000.0
PARTITION = 3


def decode_legs(raw: bytes | None) -> tuple[Event, ...] | Rejection:
    """A record naming a type and the legs it covers (as a multi-leg platform's does)."""
    doc = orjson.loads(raw or b"{}")
    kind = EventType(doc["type"])
    return tuple(Event(f"{leg}:{kind.value}", kind, doc["id"], T0, queue_id=QUEUES[leg],
                       leg_id=leg, communication_id=f"comm-{leg}", media_type="calls",
                       wrapped_by=doc.get("by")) for leg in doc["legs"])


class FakeEvents:
    def decode(self, raw: Any) -> tuple[Event, ...] | Rejection:
        return decode_legs(raw)


class FakeTopic:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, int | None, bytes]] = []

    async def send(self, *, key: bytes | None = None, value: bytes = b"",
                   partition: int | None = None, **_: Any) -> asyncio.Future[None]:
        self.sent.append((key, partition, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def record(kind: EventType, legs: str, by: str | None = None) -> bytes:
    return orjson.dumps({"type": kind.value, "id": "conv-1", "legs": list(legs), "by": by})


def make_worker(tmp_path: Path) -> tuple[JoinWorker, dict[bytes, InteractionState],
                                         list[tuple[bytes, InteractionState]], FakeTopic]:
    env = worker_env("127.0.0.1:9", "events", "http://127.0.0.1:9", tmp_path,
                     WRAPUP_POLICY_JSON=orjson.dumps(POLICY).decode())
    settings = Settings.from_env(env)
    worker = JoinWorker(settings, TopicLayout.for_settings(settings, partitions=4),
                        clock=lambda: T0)
    table: dict[bytes, InteractionState] = {}
    started: list[tuple[bytes, InteractionState]] = []

    async def write(key: bytes, partition: int, state: InteractionState | None) -> Any:
        if state is None:
            table.pop(key, None)
        else:
            table[key] = state
        return None

    worker.ingest.events = FakeEvents()
    worker._load = table.get  # type: ignore[method-assign,assignment]
    worker._write = write  # type: ignore[method-assign]
    worker.deliveries.start = (  # type: ignore[method-assign]
        lambda key, state, changelog, *, readback_first: started.append((key, state)))
    outcomes = FakeTopic()
    worker.outcomes_topic = outcomes  # type: ignore[assignment]
    return worker, table, started, outcomes


async def test_each_leg_is_its_own_table_entry_delivery_and_outcome(tmp_path: Path) -> None:
    worker, table, started, outcomes = make_worker(tmp_path)
    events = worker.layout.join_source
    await worker.handle(events, PARTITION, b"conv-1", record(EventType.ENDED, "abc"))
    assert sorted(table) == [b"conv-1/a", b"conv-1/b", b"conv-1/c"]
    await worker.handle(events, PARTITION, b"conv-1", record(EventType.WRAPPED, "c", "agent"))
    await worker.handle(events, PARTITION, b"conv-1", record(EventType.WRAPPING_UP, "abc"))
    assert sorted((key, s.code_id) for key, s in started) == [
        (b"conv-1/a", "wc-sales"), (b"conv-1/b", "wc-support")]  # each its own queue's code
    assert all(s.partition == PARTITION and s.status is Status.DISPATCHING for _, s in started)
    # c was wrapped by its agent: a skip published under c's leg key, on the events' partition
    assert [(key, partition) for key, partition, _ in outcomes.sent] == [(b"conv-1/c",
                                                                         PARTITION)]
    assert DeliveryReport.decode(outcomes.sent[0][2]).leg_id == "c"
    # an outcome record under a's leg key finalises a only
    report = DeliveryReport("conv-1", Outcome.APPLIED, "posted", code_id="wc-sales", leg_id="a")
    await worker.handle(worker.layout.outcomes, PARTITION, report.key.encode(), report.encode())
    assert table[b"conv-1/a"].status is Status.DONE
    assert table[b"conv-1/b"].status is Status.DISPATCHING


async def test_a_record_keyed_by_a_leg_is_a_key_mismatch(tmp_path: Path) -> None:
    worker, table, _, _ = make_worker(tmp_path)
    sent: list[Any] = []

    async def tracked_send(topic: Any, **kw: Any) -> None:
        sent.append(kw)

    worker.ingest.tracker.send = tracked_send  # type: ignore[method-assign]
    await worker.handle(worker.layout.join_source, PARTITION, b"conv-1/a",
                        record(EventType.ENDED, "a"))
    assert table == {}
    assert sent and sent[0]["headers"]["wrapup-reason"] == b"key_mismatch"


async def test_a_legs_delivery_job_carries_its_leg_and_reports_on_its_partition(
        tmp_path: Path) -> None:
    settings = Settings.from_env(worker_env("127.0.0.1:9", "t", "http://127.0.0.1:9", tmp_path))
    jobs: list[Any] = []
    published: list[tuple[bytes, int, DeliveryReport]] = []

    class Fake:
        async def deliver(self, job: Any) -> DeliveryReport:
            jobs.append(job)
            return DeliveryReport(job.interaction_id, Outcome.APPLIED, "posted",
                                  leg_id=job.leg_id)

    async def publish(key: bytes, partition: int, report: DeliveryReport,
                      _st: InteractionState | None) -> None:
        published.append((key, partition, report))

    sup = DeliverySupervisor(settings, settings.join_rules(), lambda _k: None, publish,
                             lambda _s: Fake())  # type: ignore[arg-type,return-value]
    state = InteractionState("conv-1", Status.DISPATCHING, T0, 9e9, partition=5,
                             ended_at=T0, wrapping_up_at=T0, code_id="wc", code_label="Code",
                             paired_at=T0, leg_id="b", communication_id="comm-b",
                             media_type="calls")
    sup.start(state.key.encode(), state, None, readback_first=False)
    async with asyncio.timeout(5):
        while not published:
            await asyncio.sleep(0.01)
    assert jobs[0].leg == Leg("conv-1", "b", "comm-b", "calls")
    key, partition, report = published[0]
    assert (key, partition, report.leg_id) == (b"conv-1/b", 5, "b")
