"""Issue 11, case 4: a hole at the tail of a quiet partition is found without later traffic.

Faust (0.15) can drop records it fetched around a rebalance and move its read offset past
them; the continuity guard used to find such a hole only when a later record of the
partition arrived. Here the drop is injected from the test side only
(:mod:`tests.faults.drop_records`): the worker runs with ``WRAPUP_TEST_DROP`` naming the
*last* event of each of eight pairs, all produced to partition 1 after the pairs' first
events, and nothing is produced afterwards, to any partition of the events topic. The
worker must still join and wrap every one of them (the tick-based tail check), within
a few tick intervals (0.5 s each here).

The platform is the simulator's (its API and ledger); the events are produced by the test
in the bridge's wire format to chosen partitions, which the hash partitioning of the
bridge could not guarantee.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from streams.dev.simulator.lifecycle import Timeline
from streams.dev.simulator.platform import InteractionInfo
from streams.dev.simulator.workload import PlannedInteraction
from streams.events import Event, EventType, encode_event
from tests.conftest import TopicFactory
from tests.faults.fixtures import (
    DroppingWorker,
    Workers,
    end_offsets,
    expectation,
    settle_exactly_once,
    sim_env,
)
from tests.helpers import wait_for
from tests.worker.fixtures import produce
from tests.worker.simulated import Expectation, Simulator, make_workload

ACW = 60.0
TAIL = 8  # pairs whose last event is dropped at the tail of partition 1
QUIET = 1  # the partition that receives the hole and nothing after it
TAIL_BOUND = 15.0  # seconds from the last record produced to every tail pair wrapped


def pair_events(p: PlannedInteraction, now: float) -> tuple[tuple[bytes, bytes],
                                                             tuple[bytes, bytes]]:
    """(ended, wrapping-up) records of ``p`` as the bridge would publish them."""
    def one(kind: EventType, at: float) -> tuple[bytes, bytes]:
        return p.interaction_id.encode(), encode_event(Event(
            event_id=f"{p.interaction_id}:{kind.value}", type=kind,
            interaction_id=p.interaction_id, occurred_at=at, agent_id=p.agent_id,
            queue_id=p.queue_id, campaign_id=p.campaign_id, acw_deadline=now + ACW))
    return one(EventType.ENDED, now - 1.0), one(EventType.WRAPPING_UP, now - 0.5)


def register(sim: Simulator, planned: list[PlannedInteraction], now: float) -> None:
    """Make the interactions exist on the platform: wrapping up since ``now - 0.5``."""
    def add(p: PlannedInteraction) -> None:
        sim.call(lambda platform: platform.add_interaction(
            InteractionInfo(p.interaction_id, p.agent_id, p.campaign_id, p.queue_id),
            Timeline(created_at=now - 60.0, ended_at=now - 1.0, wrapping_up_at=now - 0.5,
                     acw_deadline=now + ACW)))
    for p in planned:
        add(p)


def test_a_hole_at_the_tail_of_a_quiet_partition_is_read_without_later_traffic(
    kafka_bootstrap: str, topic_factory: TopicFactory, workers: Workers, tmp_path: Path,
) -> None:
    began = time.monotonic()
    topic = topic_factory(partitions=2)
    workload = make_workload(120, seed=41, agent_pick_probability=0.0, lost_fraction=0.0)
    full = expectation(workload)
    eligible = [p for p in workload.interactions if p.interaction_id in full.eligible]
    traffic, tail = eligible[:40], eligible[40:40 + TAIL]
    assert len(tail) == TAIL
    # The last event of each tail pair: wrapping-up for half, ended (reordered) for the rest.
    last = {p.interaction_id: (EventType.WRAPPING_UP if n % 2 == 0 else EventType.ENDED)
            for n, p in enumerate(tail)}
    drops = {iid: f"interaction:{kind.value}" for iid, kind in last.items()}

    def expect(planned: list[PlannedInteraction]) -> Expectation:
        return Expectation({p.interaction_id: full.eligible[p.interaction_id]
                            for p in planned}, set(), set())

    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic) as sim:
        env = sim_env(kafka_bootstrap, topic, sim, tmp_path / "data",
                      WRAPUP_TEST_DROP=orjson.dumps(drops).decode())
        worker = workers.start(env, "a", kind=DroppingWorker)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)

        # 1. Ordinary traffic on both partitions: every pair delivered and wrapped.
        now = time.time()
        register(sim, traffic, now)
        for partition in (0, 1):
            produce(kafka_bootstrap, topic, [record for p in traffic[partition::2]
                                             for record in pair_events(p, now)],
                    partition=partition)
        settle_exactly_once(sim, expect(traffic), outcomes, [worker], timeout=60)
        holes_before = worker.metric("wrapup_source_holes_total")

        # 2. The tail: first events, then the last events (dropped), then nothing at all.
        now = time.time()
        register(sim, tail, now)
        firsts, seconds = [], []
        for p in tail:
            ended, wrapping_up = pair_events(p, now)
            if last[p.interaction_id] is EventType.WRAPPING_UP:
                firsts.append(ended)
                seconds.append(wrapping_up)
            else:
                firsts.append(wrapping_up)
                seconds.append(ended)
        produce(kafka_bootstrap, topic, firsts + seconds, partition=QUIET)
        produced_at = time.time()
        end = end_offsets(kafka_bootstrap, topic, 2)[QUIET]

        def all_dropped() -> list[dict[str, Any]] | None:
            lines = worker.log_lines("test: record dropped")
            return lines if len(lines) >= TAIL else None
        dropped = wait_for(all_dropped, timeout=30,
                           message=f"{TAIL} records dropped by the injection")
        assert dropped is not None
        assert sorted(d["offset"] for d in dropped) == list(range(end - TAIL, end))
        assert {d["interaction_id"] for d in dropped} == set(drops)
        settle_exactly_once(sim, expect(traffic + tail), outcomes, [worker], timeout=30)
        wrapped = sim.call(lambda p: {i: p.ledger.wrapups[i].at for i in last})
        holes_after = worker.metric("wrapup_source_holes_total", source="events")
        # "records were skipped: ..." (a later record revealed it) or "records at a
        # partition's tail were skipped: ..." (the tick-based tail check).
        found = [line for line in worker.log_lines("were skipped", exact=False)
                 if line.get("topic") == topic and line.get("partition") == QUIET]
        # Nothing was produced after the hole: it was the partition's tail all along.
        assert end_offsets(kafka_bootstrap, topic, 2)[QUIET] == end
    found_at = [datetime.fromisoformat(line["ts"].replace("Z", "+00:00")).timestamp()
                for line in found]
    print(f"dropped offsets {sorted(d['offset'] for d in dropped)} of partition {QUIET} "
          f"(end {end}); holes found: {[(f['msg'], f['from'], f['to']) for f in found]}; "
          f"wrapup_source_holes_total {holes_before:.0f} -> {holes_after:.0f}")
    print(f"last record produced -> hole found "
          f"{min(found_at) - produced_at if found_at else float('nan'):.2f}s, -> every tail "
          f"pair wrapped {max(wrapped.values()) - produced_at:.2f}s; runtime "
          f"{time.monotonic() - began:.1f}s")
    assert holes_after >= holes_before + 1  # the worker saw the records as skipped ...
    assert [(f["from"], f["to"]) for f in found] == [(end - TAIL, end)]  # ... says so,
    # once, for exactly the dropped records
    assert max(wrapped.values()) - produced_at <= TAIL_BOUND
