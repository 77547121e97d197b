"""Shared harness of the fault suite: named worker processes, the ledger verdict, fault helpers.

Every case runs real ``wrapup worker`` processes (:class:`FaultWorker`) against a real
broker and the simulated platform (:class:`tests.worker.simulated.Simulator`), and is
judged by :func:`settle_exactly_once`: every eligible interaction applied by us exactly
once, inside its ACW window, no POST after an applied wrap-up, nothing on anything else.

Each worker has a *name*; its Kafka group instance id is ``<app id>-<name>``, so two
workers of a test have distinct stable ids and a worker restarted under the same name
replaces the member it had been (static group membership).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.partitioner import DefaultPartitioner

from streams.dev.simulator.bridge import Publisher
from streams.dev.simulator.platform import Platform
from streams.dev.simulator.workload import Workload
from streams.events import EventType
from streams.policy import Policy
from tests.helpers import wait_for
from tests.worker.fixtures import WorkerProcess, free_port, worker_env
from tests.worker.simulated import Expectation, Simulator, Tail, Verdict, judge, unsettled

SETTLE_TIMEOUT = 120.0
INSTANCE_ID = "WRAPUP_KAFKA_GROUP_INSTANCE_ID"
PAIR_TYPES = frozenset({EventType.ENDED, EventType.WRAPPING_UP})


# --------------------------------------------------------------------------- workers


class FaultWorker(WorkerProcess):
    """A worker process that remembers when it was started and when /readyz said 200
    (wall clock, the simulator ledger's clock)."""

    def __init__(self, env: dict[str, str], log_path: Path, name: str) -> None:
        super().__init__(env, log_path)
        self.name = name
        self.started_at: float | None = None
        self.ready_at: float | None = None

    def start(self) -> FaultWorker:
        self.started_at = time.time()
        super().start()
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        super().wait_ready(timeout)
        self.ready_at = time.time()

    def times(self) -> tuple[float, float]:
        """(started at, ready at), once ready."""
        assert self.started_at is not None and self.ready_at is not None, self.name
        return self.started_at, self.ready_at

    def pause(self) -> None:
        """SIGSTOP: alive, holding its partitions, but silent (no heartbeat, no commit)."""
        self.signal(signal.SIGSTOP)

    def log_lines(self, msg: str, *, exact: bool = True) -> list[dict[str, Any]]:
        """The worker's JSON log lines whose ``msg`` is ``msg`` (or contains it)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        found = []
        for line in text.splitlines():
            if msg in line and line.startswith("{"):
                doc = orjson.loads(line)
                got = str(doc.get("msg", ""))
                if got == msg or (not exact and msg in got):
                    found.append(doc)
        return found


class DroppingWorker(FaultWorker):
    """The worker run through :mod:`tests.faults.drop_records` (records dropped on purpose
    as Faust drops them; ``WRAPUP_TEST_DROP`` says which)."""

    @staticmethod
    def command() -> list[str]:
        return [sys.executable, "-m", "tests.faults.drop_records"]


class Workers:
    """Starts named workers (each with its own log), kills every one at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[FaultWorker] = []

    def start(self, env: dict[str, str], name: str, *, ready: bool = True,
              kind: type[FaultWorker] = FaultWorker) -> FaultWorker:
        """Start worker ``name`` (group instance id ``<app id>-<name>``), wait until ready."""
        env = {**env, INSTANCE_ID: f"{env['WRAPUP_APP_ID']}-{name}"}
        log = self.tmp_path / f"worker-{name}-{len(self.started)}.log"
        worker = kind(env, log, name).start()
        self.started.append(worker)
        if ready:
            worker.wait_ready()
        return worker

    def kill_all(self) -> None:
        for worker in self.started:
            worker.kill()


# --------------------------------------------------------------------------- environment


def policy_doc(workload: Workload) -> dict[str, Any]:
    return dict(workload.scenario.policy_document())


def expectation(workload: Workload) -> Expectation:
    return Expectation.of(workload, Policy.from_json(orjson.dumps(policy_doc(workload))))


def sim_env(bootstrap: str, topic: str, sim: Simulator, data_dir: Path,
            **overrides: str) -> dict[str, str]:
    """A worker environment against ``sim`` with the workload's policy."""
    return worker_env(bootstrap, topic, sim.base_url, data_dir, **{
        "WRAPUP_POLICY_JSON": orjson.dumps(policy_doc(sim.workload)).decode(),
        "WRAPUP_API_RATE_LIMIT": "500",
        "WRAPUP_API_TIMEOUT_SECONDS": "2",
        **overrides,
    })


def second_worker_env(env: dict[str, str], data_dir: Path) -> dict[str, str]:
    """Another worker of the same group: its own web port and data dir."""
    return {**env, "WRAPUP_WEB_PORT": str(free_port()), "WRAPUP_DATA_DIR": str(data_dir)}


# --------------------------------------------------------------------------- the verdict


def settle_exactly_once(sim: Simulator, expect: Expectation, outcomes: Tail,
                        workers: list[FaultWorker],
                        timeout: float = SETTLE_TIMEOUT) -> Verdict:
    """Wait (deadline) until every eligible interaction is wrapped and has an outcome;
    then assert the ledger's verdict: each applied by us exactly once inside its ACW
    window (nobody else wrapped any: no agent picks in these workloads, and a platform
    wrap means the ACW ran out), no POST after an applied wrap-up, nothing else posted."""
    def done() -> bool:
        assert sim.bridge_error() is None, sim.bridge_error()
        for w in workers:
            assert w.proc is not None and w.proc.poll() is None, \
                f"worker {w.name} exited:\n{w.log_tail()}"
        return not sim.call(unsettled(expect, outcomes))
    try:
        wait_for(done, timeout=timeout, interval=0.5, message="all outcomes")
    except AssertionError:
        left = sim.call(unsettled(expect, outcomes))
        raise AssertionError(f"{len(left)} unsettled, e.g. {left[:5]}; "
                             f"{sim.call(judge(expect, outcomes)).line()}") from None
    verdict = sim.call(judge(expect, outcomes))
    outside = sim.call(lambda p: outside_acw(p, expect))
    print(verdict.line())
    assert verdict.violations == [], verdict.violations[:10]
    assert verdict.wrapped_first_by == {}, verdict.wrapped_first_by
    assert verdict.applied_by_us == verdict.eligible == len(expect.eligible)
    assert outside == [], outside[:10]
    return verdict


def outside_acw(p: Platform, expect: Expectation) -> list[str]:
    """Eligible interactions whose wrap-up is not inside [wrapping-up, ACW deadline]."""
    bad = []
    for iid in expect.eligible:
        wrap = p.ledger.wrapups.get(iid)
        timeline = p.lifecycle(iid).timeline
        if wrap is None or not timeline.wrapping_up_at <= wrap.at <= timeline.acw_deadline:
            bad.append(f"{iid}: {wrap and wrap.at} not in "
                       f"[{timeline.wrapping_up_at}, {timeline.acw_deadline}]")
    return bad


# --------------------------------------------------------------------------- the bridge


def planned_pair_messages(workload: Workload) -> int:
    """Messages the bridge sends for ended and wrapping-up events (copies included)."""
    return sum(1 + fault.duplicates for p in workload.interactions
               for fault in (p.ended_event, p.wrapping_up_event) if not fault.lost)


def published_pair_messages(sim: Simulator) -> int:
    def count(_p: Platform) -> int:
        bridge = sim.bridge
        return 0 if bridge is None else sum(1 for m in bridge.published if m.type in PAIR_TYPES)
    return sim.call(count)


def wait_pairs_published(sim: Simulator, timeout: float = 60.0) -> None:
    """Until the bridge has sent every ended and wrapping-up message of its workload."""
    planned = planned_pair_messages(sim.workload)
    wait_for(lambda: published_pair_messages(sim) >= planned, timeout=timeout, interval=0.05,
             message=f"all {planned} ended/wrapping-up messages published")


class Silenced:
    """The bridge's publisher once traffic is stopped: sends reach nothing (counted)."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner
        self.withheld = 0

    async def send(self, key: bytes | None, value: bytes) -> None:
        self.withheld += 1

    async def close(self) -> None:
        await self.inner.close()


def stop_bridge(sim: Simulator, timeout: float = 30.0) -> Silenced:
    """No further traffic: from now on nothing the bridge sends reaches Kafka (later
    echoes of wrap-ups are withheld; the worker does not need them), and every message
    already sent is acknowledged. The bridge keeps running and its producer is closed
    with the simulator: cancelling it mid-flight could hang in aiokafka's shutdown
    (seen: Bridge.stop() never returning although nothing was pending)."""
    bridge = sim.bridge
    assert bridge is not None

    def silence(_p: Platform) -> Silenced:
        silenced = Silenced(bridge.publisher)
        bridge.publisher = silenced
        return silenced
    silenced = sim.call(silence)
    inner = silenced.inner
    wait_for(lambda: sim.call(lambda _p: not getattr(inner, "_pending", ())), timeout=timeout,
             interval=0.05, message="every message sent by the bridge acknowledged")
    return silenced


def partition_of(key: str, partitions: int) -> int:
    """The partition the bridge's producer (aiokafka's default partitioner) picks."""
    every = list(range(partitions))
    return int(DefaultPartitioner()(key.encode(), every, every))


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    """The end offset (high-water mark) of each partition of ``topic``."""
    async def run() -> dict[int, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            ends = await consumer.end_offsets([TopicPartition(topic, p)
                                               for p in range(partitions)])
            return {tp.partition: int(offset) for tp, offset in ends.items()}
        finally:
            await consumer.stop()
    return asyncio.run(run())


# --------------------------------------------------------------------------- the ledger


def applied_times(sim: Simulator) -> list[tuple[float, str]]:
    """(time, interaction) of every wrap-up applied through the API, in time order."""
    return sim.call(lambda p: sorted((w.at, w.interaction_id) for w in p.ledger.wrapups.values()
                                     if w.by == "api"))


def first_applied_after(sim: Simulator, t: float,
                        among: set[str] | None = None) -> float | None:
    for at, iid in applied_times(sim):
        if at >= t and (among is None or iid in among):
            return at
    return None


def applied_count(sim: Simulator) -> int:
    return sim.call(lambda p: sum(1 for w in p.ledger.wrapups.values() if w.by == "api"))


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """True as soon as ``predicate()`` is truthy, False once ``timeout`` passed (no raise):
    for "do X at the first sign of Y, at the latest after T"."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def metric_or_none(worker: WorkerProcess, name: str, **labels: str) -> float | None:
    """A worker metric, or None if the worker does not answer."""
    try:
        return worker.metric(name, **labels)
    except Exception:
        return None


# --------------------------------------------------------------------------- the group


@dataclass(frozen=True)
class Member:
    member_id: str
    partitions: frozenset[tuple[str, int]]

    def of(self, topic: str) -> set[int]:
        return {p for t, p in self.partitions if t == topic}


def group_members(bootstrap: str, group: str) -> tuple[str, list[Member]]:
    """(state, members with their assigned partitions) of a consumer group, from the
    broker's DescribeGroups answer."""
    async def run() -> tuple[str, list[Member]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            responses = await admin.describe_consumer_groups([group])
        finally:
            await admin.close()
        for response in responses:
            for entry in response.groups:
                _error, group_id, state, _ptype, _protocol, members = entry[:6]
                if group_id != group:
                    continue
                out = []
                for m in members:
                    member_id, assignment = m[0], m[-1]
                    parts: frozenset[tuple[str, int]] = frozenset()
                    if assignment:
                        decoded = ConsumerProtocolMemberAssignment.decode(assignment)
                        parts = frozenset((tp.topic, tp.partition)
                                          for tp in decoded.partitions())
                    out.append(Member(member_id, parts))
                return str(state), out
        return "Dead", []
    return asyncio.run(run())


def committed_offsets(bootstrap: str, group: str, topic: str,
                      partitions: int) -> dict[int, int | None]:
    """The group's committed offset of each partition of ``topic`` (None: never)."""
    async def run() -> dict[int, int | None]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            found = await admin.list_consumer_group_offsets(
                group, partitions=[TopicPartition(topic, p) for p in range(partitions)])
        finally:
            await admin.close()
        out: dict[int, int | None] = dict.fromkeys(range(partitions))
        for tp, meta in found.items():
            if meta.offset >= 0:
                out[tp.partition] = int(meta.offset)
        return out
    return asyncio.run(run())


def stable_members(bootstrap: str, group: str, count: int,
                   timeout: float = 60.0) -> list[Member]:
    """The group's members once it is Stable with ``count`` members, each assigned."""
    def stable() -> list[Member] | None:
        state, members = group_members(bootstrap, group)
        if state == "Stable" and len(members) == count and all(m.partitions for m in members):
            return members
        return None
    found = wait_for(stable, timeout=timeout, interval=0.5,
                     message=f"group {group} stable with {count} members")
    assert found is not None
    return found


# --------------------------------------------------------------------------- misc


@dataclass
class Timer:
    """Seconds since creation, for the per-test runtime lines."""

    began: float = 0.0

    def __post_init__(self) -> None:
        self.began = time.monotonic()

    def __str__(self) -> str:
        return f"{time.monotonic() - self.began:.1f}s"
