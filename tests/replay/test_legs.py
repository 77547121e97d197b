"""Replay over two agent legs of one interaction: the scan folds per leg key, the ledger is
read per leg key, and each leg's wrap-up is delivered and recorded on the interaction's
partition (unit level: a decoder that yields one event per leg, fakes for HTTP and Kafka)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.events import Event, EventType, Rejection
from streams.explain.partitioner import partition_for
from streams.join import JoinRules
from streams.outcomes import DeliveryReport, Outcome
from streams.policy import Policy, Rule, WrapupCode
from streams.replay.ledger import Ledger
from streams.replay.plan import Candidate, Plan, Planner
from streams.replay.run import ReplayOptions, _Deliverer, _triage
from streams.replay.summary import Summary
from streams.replay.timespec import Window
from tests.delivery.fixtures import settings as delivery_settings

SALES = WrapupCode("wc-sales", "Sales")
SUPPORT = WrapupCode("wc-support", "Support")
RULES = JoinRules(Policy((Rule(SALES, queue="q-sales"), Rule(SUPPORT, queue="q-support"))),
                  pending_ttl=600.0, default_acw=120.0)
T0 = 1_790_000_000.0
IID = "conv-7"
QUEUES = {"a": "q-sales", "b": "q-support"}


@dataclass(frozen=True)
class Rec:
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


def decode_legs(raw: bytes | None) -> tuple[Event, ...] | Rejection:
    """One record names a type and the legs it covers (as a multi-leg platform's does)."""
    doc = orjson.loads(raw or b"{}")
    kind = EventType(doc["type"])
    return tuple(Event(f"{doc['at']}:{leg}:{kind.value}", kind, IID, doc["at"],
                       queue_id=QUEUES[leg], leg_id=leg, communication_id=f"comm-{leg}",
                       media_type="calls", wrapped_by=doc.get("by"))
                 for leg in doc["legs"])


def rec(offset: int, kind: EventType, legs: str, *, by: str | None = None) -> Rec:
    at = T0 + offset
    value = orjson.dumps({"type": kind.value, "legs": list(legs), "at": at, "by": by})
    return Rec(offset, round(at * 1000), IID.encode(), value)


RECORDS = [rec(0, EventType.ENDED, "ab"), rec(1, EventType.WRAPPING_UP, "a"),
           rec(2, EventType.WRAPPING_UP, "b"), rec(3, EventType.WRAPPING_UP, "ab")]


def plan_of(recs: Sequence[Rec]) -> Plan:
    planner = Planner(RULES, {4: 0}, decode=decode_legs)
    planner.feed(4, recs)
    return planner.result()


def test_the_scan_folds_each_leg_and_finds_one_candidate_per_leg() -> None:
    plan = plan_of(RECORDS)
    got = {c.key: c for c in plan.candidates}
    assert sorted(got) == [f"{IID}/a", f"{IID}/b"]
    assert got[f"{IID}/a"].code == SALES and got[f"{IID}/b"].code == SUPPORT  # own queue
    assert got[f"{IID}/b"].paired_at == T0 + 2
    assert (got[f"{IID}/a"].communication_id, got[f"{IID}/a"].media_type) == ("comm-a",
                                                                             "calls")
    assert plan.events_in_window == len(RECORDS)
    assert Plan.from_bytes(plan.to_bytes()).candidates == plan.candidates  # legs survive


def test_a_wrap_of_one_leg_skips_that_leg_only() -> None:
    plan = plan_of([*RECORDS, rec(4, EventType.WRAPPED, "b", by="agent")])
    skips = {c.key: c.skip_reason for c in plan.candidates}
    assert skips == {f"{IID}/a": None, f"{IID}/b": "wrapped_by_agent"}


def test_a_record_keyed_by_something_else_is_rejected_for_all_its_legs() -> None:
    bad = Rec(0, round(T0 * 1000), b"other", RECORDS[0].value)
    plan = plan_of([bad, *RECORDS[1:]])
    assert plan.candidates == [] and plan.rejected["key_mismatch"] == 1


def test_the_ledger_is_read_per_leg() -> None:
    ledger = Ledger()
    done = DeliveryReport(IID, Outcome.APPLIED, "posted", leg_id="a")
    ledger.add(done.key.encode(), done.encode())
    summary = Summary("events", T0, None, T0, False)
    todo = list(_triage(plan_of(RECORDS).candidates, ledger, summary, False, print))
    assert [c.key for c in todo] == [f"{IID}/b"]
    assert summary.already_done["ledger_applied"] == 1


@dataclass
class FakeDispatcher:
    jobs: list[Any] = field(default_factory=list)

    async def deliver(self, job: Any) -> DeliveryReport:
        self.jobs.append(job)
        return DeliveryReport(job.interaction_id, Outcome.APPLIED, "posted", attempts=1,
                              code_id=job.code.id, leg_id=job.leg_id, source="replay")


@dataclass
class FakeProducer:
    sent: list[tuple[str, bytes | None, int | None, DeliveryReport]] = field(
        default_factory=list)

    async def send(self, topic: str, value: bytes, *, key: bytes | None = None,
                   partition: int | None = None, headers: Any = None) -> Any:
        self.sent.append((topic, key, partition, DeliveryReport.decode(value)))

        async def acked() -> None:
            return None

        return acked()


async def _deliver(candidates: list[Candidate], aligned: bool) -> tuple[FakeDispatcher,
                                                                          FakeProducer]:
    s = delivery_settings()
    dispatcher, producer = FakeDispatcher(), FakeProducer()
    options = ReplayOptions(Window(T0, None), "events", 60.0)
    deliverer = _Deliverer(s, options, dispatcher, producer,  # type: ignore[arg-type]
                           Summary("events", T0, None, T0, False), aligned, 12)
    for c in candidates:
        await deliverer.one(c)
    return dispatcher, producer


async def test_each_leg_is_posted_and_recorded_on_the_interactions_partition() -> None:
    candidates = plan_of(RECORDS).candidates
    dispatcher, producer = await _deliver(candidates, aligned=True)
    assert sorted((j.leg.leg_id, j.leg.communication_id, j.code.id) for j in dispatcher.jobs) \
        == [("a", "comm-a", SALES.id), ("b", "comm-b", SUPPORT.id)]
    assert all(j.readback_first for j in dispatcher.jobs)
    records = {key: (partition, report.leg_id) for _, key, partition, report in producer.sent}
    assert records == {f"{IID}/a".encode(): (4, "a"), f"{IID}/b".encode(): (4, "b")}


async def test_unaligned_layouts_record_on_the_interaction_ids_partition_not_the_legs() -> None:
    candidates = plan_of(RECORDS).candidates
    _, producer = await _deliver(candidates, aligned=False)
    expected = partition_for(IID.encode(), 12)
    assert {partition for _, _, partition, _ in producer.sent} == {expected}
    assert {key for _, key, _, _ in producer.sent} == {f"{IID}/a".encode(), f"{IID}/b".encode()}


def test_the_scan_reads_with_the_platforms_events_side_and_the_generic_one_directly() -> None:
    import pickle

    from streams.events import parse_event
    from streams.platforms.generic.events import GenericEvents
    from streams.replay.run import scan_decoder
    from streams.replay.shard import Assignment

    assert scan_decoder(delivery_settings()) is parse_event
    job = Assignment("b:9", "events", {}, RULES, True, 1.0, decode=decode_legs)
    assert pickle.loads(pickle.dumps(job)).decode is decode_legs  # travels to a scan process
    generic = [
        Rec(i, round((T0 + i) * 1000), b"i-1", orjson.dumps({
            "id": f"e{i}", "type": kind, "timestamp": round((T0 + i) * 1000),
            "data": {"id": "i-1", "queueId": "q-sales"}}))
        for i, kind in enumerate(("interaction:ended", "interaction:created",
                                  "interaction:wrapping-up"))]
    plans = []
    for decode in (parse_event, GenericEvents().decode):
        planner = Planner(RULES, {0: 0}, decode=decode)
        planner.feed(0, generic)
        plans.append(planner.result())
    assert plans[0].candidates == plans[1].candidates and len(plans[0].candidates) == 1
    assert plans[0].rejected == plans[1].rejected == {"ignored": 1}
