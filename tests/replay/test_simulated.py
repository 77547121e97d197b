"""A missed window, recovered: simulator + real worker + real broker, then replay and reset.

1. Worker A runs while the simulator emits a first batch of interactions.
2. A stops at ``since``; the simulator keeps emitting a window of 600 interactions (plus
   a few that straddle ``since``: ended before it, wrapping-up after). Agents wrap some.
3. Worker B starts with its offsets reset past the window (deployed late: the window is
   missed) and handles a third batch live.
4. ``wrapup replay --since`` posts every missed eligible wrap-up exactly once; a second
   replay posts nothing.
5. B stops, the group is reset to ``since`` with Kafka's own tool, worker C re-consumes
   the whole window: it posts nothing (only per-partition sentinels added afterwards).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.config import Settings
from streams.dev.simulator.bridge import Bridge, KafkaPublisher
from streams.dev.simulator.distributions import fixed
from streams.dev.simulator.lifecycle import Timeline
from streams.dev.simulator.platform import AuthConfig, InteractionInfo, Platform
from streams.dev.simulator.scenario import default_scenario
from streams.dev.simulator.server import PlatformServer
from streams.dev.simulator.workload import PlannedInteraction, Workload, WorkloadParams, generate
from streams.events import EventType
from streams.replay.reset import reset_offsets
from streams.replay.timespec import format_time
from tests.conftest import TopicFactory
from tests.helpers import async_wait_for
from tests.worker.fixtures import WorkerProcess, event, worker_env

TOKEN = "sim-static-token-not-secret"
SPEED = 10.0  # simulated seconds per real second
PARTITIONS = 3
WINDOW_INTERACTIONS = 600
STRADDLERS = 8
NEVER = 1e6  # ACW timeout (simulated s): the platform never wraps by itself in this test


def params(seed: int, n: int) -> WorkloadParams:
    return WorkloadParams(interactions=n, seed=seed, rate=25.0, acw_timeout=fixed(NEVER),
                          duplicate_fraction=0.02, reorder_fraction=0.05)


def eligible(p: PlannedInteraction) -> bool:
    """In scope and not wrapped by its agent: the worker (or a replay) must post it."""
    return p.expected_code is not None and p.agent_pick_after is None


def expected_messages(workload: Workload) -> Counter[EventType]:
    """Messages the bridge publishes per type, agent wraps included (nothing is lost)."""
    out: Counter[EventType] = Counter()
    for p in workload.interactions:
        out[EventType.ENDED] += 1 + p.ended_event.duplicates
        out[EventType.WRAPPING_UP] += 1 + p.wrapping_up_event.duplicates
        if p.agent_pick_after is not None:
            out[EventType.WRAPPED] += 1 + p.wrapped_event.duplicates
    return out


class Sim:
    """The platform and its bridges (one per phase) in this event loop."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.scenario = default_scenario()
        self.platform = Platform(self.scenario, auth=AuthConfig(static_token=TOKEN))
        self.bridges: list[Bridge] = []

    async def phase(self, seed: int, n: int) -> tuple[Workload, Bridge]:
        workload = generate(params(seed, n), self.scenario)
        publisher = KafkaPublisher(self.bootstrap, self.topic)
        await publisher.start()
        bridge = Bridge(self.platform, workload, publisher, speed=SPEED)
        await bridge.start()
        self.bridges.append(bridge)
        return workload, bridge

    def add_open(self, iid: str) -> None:
        """An interaction already wrapping-up on the platform (events produced by hand)."""
        now = time.time()
        self.platform.add_interaction(InteractionInfo(iid, "agent-x", "c-renewals", "q-sales"),
                                      Timeline(now - 3, now - 2, now - 1, now + NEVER))

    def wrapped(self, workload: Workload) -> bool:
        return all(self.platform.ledger.wrapup(p.interaction_id) is not None
                   for p in workload.interactions if p.expected_code is not None)

    def posts_since(self, index: int) -> list[Any]:
        return [r for r in self.platform.ledger.requests[index:]
                if r.method == "POST" and r.path.endswith("/wrapup")]

    async def stop(self) -> None:
        for bridge in self.bridges:
            await bridge.stop()


def published(bridge: Bridge) -> Counter[EventType]:
    return Counter(p.type for p in bridge.published)


async def produce(bootstrap: str, topic: str,
                  records: list[tuple[bytes, bytes, int | None]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value, partition in records:
            await producer.send_and_wait(topic, value, key=key, partition=partition)
    finally:
        await producer.stop()


def run_replay(env: dict[str, str], since: float) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WRAPUP_")}
    proc = subprocess.run(
        [*WorkerProcess.command(), "replay", "--since", format_time(since), "--json"],
        env={**clean, **env}, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc: dict[str, Any] = orjson.loads(proc.stdout.strip().splitlines()[-1])
    return doc


async def start_worker(env: dict[str, str], log: Path) -> WorkerProcess:
    worker = WorkerProcess(env, log).start()
    await asyncio.to_thread(worker.wait_ready, 120.0)
    return worker


async def metric(worker: WorkerProcess, name: str, **labels: str) -> float:
    return await asyncio.to_thread(worker.metric, name, **labels)


async def group_caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """True once ``group`` has committed every partition of ``topic`` up to its end (the
    worker's topics are co-partitioned: ``PARTITIONS`` each)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()  # no subscription: the group's members are not disturbed
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = await consumer.end_offsets(tps)
        committed = [await consumer.committed(tp) or 0 for tp in tps]
        return all(c >= ends[tp] for c, tp in zip(committed, tps, strict=True))
    finally:
        await consumer.stop()


async def test_replay_recovers_a_missed_window_exactly_once_and_a_reset_posts_nothing_twice(
    kafka_bootstrap: str, topic_factory: TopicFactory, tmp_path: Path, kafka_jars: Path,
) -> None:
    topic = topic_factory(partitions=PARTITIONS)
    sim = Sim(kafka_bootstrap, topic)
    workers: list[WorkerProcess] = []
    async with PlatformServer(sim.platform) as server:
        env = worker_env(kafka_bootstrap, topic, server.base_url, tmp_path / "data",
                         WRAPUP_POLICY_JSON=sim.scenario.policy_json().decode(),
                         WRAPUP_API_TOKEN=TOKEN, WRAPUP_API_RATE_LIMIT="1000")
        try:
            # 1. Worker A is live.
            workers.append(await start_worker(env, tmp_path / "worker-a.log"))
            a = workers[-1]
            first, _ = await sim.phase(seed=1, n=150)
            await async_wait_for(lambda: sim.wrapped(first), timeout=60, interval=0.1,
                                 message="phase 1 wrapped")
            straddlers = [f"straddle-{i}" for i in range(STRADDLERS)]
            for iid in straddlers:
                sim.add_open(iid)
            waiting = await metric(a, "wrapup_join_decisions_total", reason="waiting")
            await produce(kafka_bootstrap, topic,
                          [(i.encode(), event("ended", i), None) for i in straddlers])

            async def a_saw_straddlers() -> bool:
                seen = await metric(a, "wrapup_join_decisions_total", reason="waiting")
                return seen >= waiting + STRADDLERS
            await async_wait_for(a_saw_straddlers, timeout=30, interval=0.2,
                                 message="worker A saw the straddlers' ended events")

            # 2. A stops; the window flows past.
            since = time.time()
            assert await asyncio.to_thread(a.stop) == 0
            window, window_bridge = await sim.phase(seed=2, n=WINDOW_INTERACTIONS)
            await produce(kafka_bootstrap, topic,
                          [(i.encode(), event("wrapping-up", i), None) for i in straddlers])
            wanted = expected_messages(window)
            await async_wait_for(lambda: published(window_bridge) == wanted, timeout=60,
                                 interval=0.1, message="window published")

            # 3. Worker B comes back past the window (it is missed) and runs live.
            restart = time.time()
            await asyncio.to_thread(reset_offsets, kafka_bootstrap, env["WRAPUP_APP_ID"],
                                    topic, restart)
            workers.append(await start_worker(env, tmp_path / "worker-b.log"))
            b = workers[-1]
            third, _ = await sim.phase(seed=3, n=100)
            await async_wait_for(lambda: sim.wrapped(third), timeout=60, interval=0.1,
                                 message="phase 3 wrapped")
            missed_ids = sorted([p.interaction_id for p in window.interactions if eligible(p)]
                                + straddlers)
            assert len(window.interactions) >= 500
            assert all(sim.platform.ledger.wrapup(i) is None for i in missed_ids)

            # 4. Replay the window: every missed eligible wrap-up, once.
            mark = len(sim.platform.ledger.requests)
            first_run = await asyncio.to_thread(run_replay, env, since)
            posts = sim.posts_since(mark)
            assert sorted(r.interaction_id for r in posts) == missed_ids
            assert {r.status for r in posts} == {200}
            assert first_run["posted"] == len(missed_ids)
            assert first_run["failed"] == 0 and first_run["unrecorded"] == 0
            assert first_run["pairs_found"] == (first_run["posted"] + first_run["already_done"]
                                                + first_run["skipped"])
            fresh = {r for r in first_run["skipped_by_reason"] if not r.startswith("ledger_")}
            assert fresh <= {"wrapped_by_agent"}  # the scan saw the agent's wrap
            ledger = sim.platform.ledger
            for p in window.interactions:
                wrap = ledger.wrapup(p.interaction_id)
                if eligible(p):
                    assert wrap is not None and p.expected_code is not None
                    assert (wrap.by, wrap.code_id) == ("api", p.expected_code.id)
                elif p.agent_pick_after is not None:
                    assert wrap is not None and wrap.by == "agent"
                else:
                    assert wrap is None  # out of scope: nobody posts
            assert ledger.duplicate_wrapups == []

            # ... and again: nothing.
            mark = len(ledger.requests)
            second_run = await asyncio.to_thread(run_replay, env, since)
            assert second_run["posted"] == 0 and second_run["failed"] == 0
            assert second_run["pairs_found"] == first_run["pairs_found"]
            assert sim.posts_since(mark) == []

            # 5. The other way: reset the worker's group to ``since``; C re-consumes. B stops
            # once it has folded the replay's outcomes into its table, as a worker left
            # running does. (One that has not leaves C racing them: C then posts, gets a
            # 409, reads back and reports already_applied. Safe, but not what this checks.)
            outcomes = Settings.from_env(env).outcomes_topic
            await async_wait_for(
                lambda: group_caught_up(kafka_bootstrap, env["WRAPUP_APP_ID"], outcomes),
                timeout=60, interval=0.2, message="worker B folded the replay's outcomes")
            assert await asyncio.to_thread(b.stop) == 0
            table = await asyncio.to_thread(reset_offsets, kafka_bootstrap,
                                            env["WRAPUP_APP_ID"], topic, since)
            assert "NEW-OFFSET" in table
            mark = len(ledger.requests)
            workers.append(await start_worker(env, tmp_path / "worker-c.log"))
            c = workers[-1]
            sentinels = [f"sentinel-{p}" for p in range(PARTITIONS)]
            for iid in sentinels:
                sim.add_open(iid)
            await produce(kafka_bootstrap, topic, [
                (iid.encode(), event(kind, iid), p)
                for p, iid in enumerate(sentinels) for kind in ("ended", "wrapping-up")])
            await async_wait_for(
                lambda: all(ledger.wrapup(i) is not None for i in sentinels), timeout=60,
                interval=0.1, message="sentinels posted after the re-consumed window")
            # A sentinel is paired only after everything before it in its partition.
            assert await metric(c, "wrapup_pairs_completed_total") == len(sentinels)
            assert await metric(c, "wrapup_join_decisions_total", reason="after_final") > 0
            assert sorted(r.interaction_id for r in sim.posts_since(mark)) == sentinels
            assert ledger.duplicate_wrapups == []
        finally:
            await sim.stop()
            for worker in workers:
                await asyncio.to_thread(worker.kill)
