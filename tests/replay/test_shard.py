"""Scan processes: the frames a shard sends, and how the parent treats a shard that fails."""

from __future__ import annotations

import asyncio
import pickle
import subprocess
import sys

import pytest

from streams.join import JoinRules
from streams.kafka.reader import Span, TopicReader
from streams.policy import Policy, Rule, WrapupCode
from streams.replay.errors import ReplayError
from streams.replay.parallel import ScanProcesses
from streams.replay.plan import Plan
from streams.replay.progress import NoProgress
from streams.replay.shard import ERROR, FRAME, PLAN, Assignment
from tests.conftest import TopicFactory
from tests.worker.fixtures import event, free_port, produce

RULES = JoinRules(policy=Policy((Rule(WrapupCode("wc-renewal", "Renewal"),
                                      campaign="c-renewals"),)))


def run_shard(stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "streams.replay.shard"], input=stdin,
                          capture_output=True, timeout=60, check=False)


def frames(raw: bytes) -> list[tuple[bytes, bytes | int]]:
    out: list[tuple[bytes, bytes | int]] = []
    while raw:
        kind, size = FRAME.unpack_from(raw)
        raw = raw[FRAME.size:]
        if kind in (PLAN, ERROR):
            out.append((kind, raw[:size]))
            raw = raw[size:]
        else:
            out.append((kind, size))
    return out


def test_a_dismissed_shard_exits_quietly() -> None:
    proc = run_shard(b"")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")


def test_a_shard_that_cannot_reach_kafka_sends_one_error_line() -> None:
    bootstrap = f"127.0.0.1:{free_port()}"
    job = Assignment(bootstrap, "events", {0: Span(0, 0, 10)}, RULES, True, 2.0)
    proc = run_shard(pickle.dumps(job))
    assert proc.returncode == 1
    assert frames(proc.stdout) == [
        (ERROR, f"cannot reach Kafka at {bootstrap}: KafkaConnectionError".encode())]


def test_a_shard_folds_its_partitions_and_sends_the_plan(
    kafka_bootstrap: str, topic_factory: TopicFactory,
) -> None:
    topic = topic_factory(partitions=2)
    produce(kafka_bootstrap, topic, [(b"a", event("ended", "a")),
                                     (b"a", event("wrapping-up", "a")),
                                     (b"x", event("ended", "x"))], partition=1)
    job = Assignment(kafka_bootstrap, topic, {1: Span(0, 0, 3)}, RULES, True, 15.0)
    proc = run_shard(pickle.dumps(job))
    assert proc.returncode == 0, proc.stderr
    *counts, (kind, payload) = frames(proc.stdout)
    assert kind == PLAN and sum(n for _, n in counts if isinstance(n, int)) == 3
    assert isinstance(payload, bytes)
    plan = Plan.from_bytes(payload)
    assert [(c.interaction_id, c.partition) for c in plan.candidates] == [("a", 1)]
    assert plan.unpaired == {"missing_wrapping_up": 1}


async def test_a_shard_that_dies_fails_the_scan_with_one_line(
    kafka_bootstrap: str, topic_factory: TopicFactory,
) -> None:
    topic = topic_factory(partitions=2)
    for p in (0, 1):
        await asyncio.to_thread(produce, kafka_bootstrap, topic,
                                [(b"a", event("ended", "a"))], p)
    spans = {0: Span(0, 0, 1), 1: Span(0, 0, 1)}
    reader = TopicReader(kafka_bootstrap)
    await reader.start()
    try:
        async with await ScanProcesses.start(1) as helpers:
            helpers._processes[0].kill()
            with pytest.raises(ReplayError, match=r"^(a )?scan process .*exited"):
                await helpers.fold(reader, topic, spans, RULES, True, NoProgress(), 15.0)
    finally:
        await reader.stop()


async def test_idle_scan_processes_are_dismissed_when_fewer_are_needed(
    kafka_bootstrap: str, topic_factory: TopicFactory,
) -> None:
    topic = topic_factory(partitions=1)
    await asyncio.to_thread(produce, kafka_bootstrap, topic,
                            [(b"a", event("ended", "a")), (b"a", event("wrapping-up", "a"))], 0)
    reader = TopicReader(kafka_bootstrap)
    await reader.start()
    try:
        helpers = await ScanProcesses.start(2)
        processes = list(helpers._processes)
        async with helpers:
            plan = await helpers.fold(reader, topic, {0: Span(0, 0, 2)}, RULES, True,
                                      NoProgress(), 15.0)
        assert [c.interaction_id for c in plan.candidates] == ["a"]
        assert [p.returncode for p in processes] == [0, 0]
    finally:
        await reader.stop()
