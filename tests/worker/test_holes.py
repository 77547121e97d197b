"""The worker's shell around the continuity guard, on a real broker: a hole Faust left
is read with a separate reader and processed in order before the record after it, and
commits are held behind it meanwhile."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from streams.config import Settings
from streams.topics import TopicLayout
from streams.worker import JoinWorker
from tests.conftest import TopicFactory
from tests.worker.fixtures import event, produce, worker_env


def make_worker(bootstrap: str, topic: str, tmp_path: Path) -> JoinWorker:
    env = worker_env(bootstrap, topic, "http://127.0.0.1:9", tmp_path / "data")
    settings = Settings.from_env(env)
    return JoinWorker(settings, TopicLayout.for_settings(settings, partitions=2))


def test_a_hole_is_read_and_processed_in_order_before_the_record_after_it(
    kafka_bootstrap: str, topic_factory: TopicFactory, tmp_path: Path,
) -> None:
    topic = topic_factory(partitions=2)
    produce(kafka_bootstrap, topic,
            [(f"i{n}".encode(), event("ended", f"i{n}")) for n in range(12)], partition=1)
    worker = make_worker(kafka_bootstrap, topic, tmp_path)
    seen: list[int] = []
    caps: list[int | None] = []

    async def process(record: Any) -> None:
        caps.append(worker.holes.guard.commit_cap((topic, 1)))
        seen.append(record.offset)

    async def run() -> None:
        worker.holes.guard.restart((topic, 1), 3)  # as after Faust's seek to committed
        try:
            for offset in (3, 4):  # processed by the agent: no hole
                await worker.holes.before(topic, 1, offset, process)
            assert seen == []
            await worker.holes.before(topic, 1, 9, process)  # 5..8 were skipped
        finally:
            await worker.holes.stop()

    asyncio.run(run())
    assert seen == [5, 6, 7, 8]
    assert caps == [5, 6, 7, 8]  # while the hole is read, nothing past it is committed
    assert worker.holes.guard.commit_cap((topic, 1)) == 10


def test_a_hole_at_a_quiet_partitions_tail_is_read_by_the_second_tick(
    kafka_bootstrap: str, topic_factory: TopicFactory, tmp_path: Path,
) -> None:
    """Nothing after the hole reveals it: the tick compares the consumer's position with
    what the guard expects, and the second tick without progress reads and processes
    the skipped records, in order; commits stay behind them until then."""
    topic = topic_factory(partitions=2)
    produce(kafka_bootstrap, topic,
            [(f"i{n}".encode(), event("ended", f"i{n}")) for n in range(12)], partition=1)
    worker = make_worker(kafka_bootstrap, topic, tmp_path)
    seen: list[int] = []
    positions = {(topic, 1): 12}  # the consumer handed 0..11 to Faust; 5..11 never came

    async def process(record: Any) -> None:
        seen.append(record.offset)

    worker._process_record = process  # type: ignore[method-assign]
    worker._position = lambda tp: positions.get((tp.topic, tp.partition))  # type: ignore[method-assign]

    async def run() -> None:
        worker.holes.guard.restart((topic, 1), 3)
        try:
            for offset in (3, 4):
                await worker.holes.before(topic, 1, offset, process)
            await worker._fill_tail_holes(1)  # first tick: they may still be queued
            assert seen == []
            assert worker.holes.guard.commit_cap((topic, 1)) == 5
            await worker._fill_tail_holes(1)  # second tick, no progress: a hole
        finally:
            await worker.holes.stop()

    asyncio.run(run())
    assert seen == list(range(5, 12))
    assert worker.holes.guard.commit_cap((topic, 1)) == 12
