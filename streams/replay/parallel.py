"""Scan and plan on several cores: one process per group of partitions.

Folding events through the join core costs far more CPU than reading them, so a long
window is folded in parallel. This is exact only for a topic keyed by interaction ID,
where all of an interaction's events are in one partition (the worker's join relies on
the same); an unkeyed topic is always folded in one process. Each process opens its own
consumer, reads its partitions' spans, folds them with its own :class:`Planner`, and
sends back its :class:`Plan` (merged here) and progress counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
import queue
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from streams.join import JoinRules
from streams.replay.plan import Plan, Planner
from streams.replay.progress import Progress
from streams.replay.scan import Span, TopicReader

# Below this many records per extra process, starting processes costs more than it saves.
MIN_RECORDS_PER_PROCESS = 100_000


def processes_for(spans: dict[int, Span], keyed: bool, requested: int | None = None) -> int:
    """Processes to fold with: 1 for an unkeyed topic; else ``requested``, or with None
    ("auto") one per usable CPU for a scan long enough to pay for starting them; never
    more than the partitions that have records."""
    if not keyed:
        return 1
    busy = sum(1 for s in spans.values() if s.size > 0)
    if requested is not None:
        return max(1, min(requested, busy))
    total = sum(s.size for s in spans.values())
    return max(1, min(available_cpus(), busy, total // MIN_RECORDS_PER_PROCESS))


def available_cpus(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """CPUs this process may use: its affinity, capped by a cgroup v2 CPU quota (a pod's
    CPU limit), which ``os.cpu_count`` does not see."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cpus = cpus or os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cpus


def shard(spans: dict[int, Span], count: int) -> list[dict[int, Span]]:
    """Partitions in ``count`` groups of about equal records (largest first, greedy)."""
    groups: list[dict[int, Span]] = [{} for _ in range(count)]
    loads = [0] * count
    for partition, span in sorted(spans.items(), key=lambda kv: -kv[1].size):
        i = loads.index(min(loads))
        groups[i][partition] = span
        loads[i] += span.size
    return [g for g in groups if g]


async def fold(reader: TopicReader, topic: str, spans: dict[int, Span], rules: JoinRules,
               keyed: bool, progress: Progress) -> Plan:
    """Read ``spans`` with ``reader`` and fold them in this process."""
    planner = Planner(rules, {p: s.mark for p, s in spans.items()}, keyed=keyed)

    def feed(partition: int, records: Sequence[Any]) -> None:
        planner.feed(partition, records)
        progress.advance(len(records))

    await reader.read(topic, spans, feed)
    return planner.result()


async def fold_parallel(bootstrap: str, topic: str, spans: dict[int, Span], rules: JoinRules,
                        keyed: bool, progress: Progress, processes: int,
                        timeout: float) -> Plan:
    """Fold ``spans`` in ``processes`` worker processes and merge their plans."""
    groups = shard(spans, processes)
    ctx = multiprocessing.get_context("spawn")  # no fork: the parent may run threads
    with ctx.Manager() as manager, ProcessPoolExecutor(len(groups), mp_context=ctx) as pool:
        counts: Any = manager.Queue()
        loop = asyncio.get_running_loop()
        jobs = [loop.run_in_executor(pool, _fold_in_process, bootstrap, topic, group, rules,
                                     keyed, timeout, counts) for group in groups]
        done = asyncio.ensure_future(asyncio.gather(*jobs))
        try:
            while not done.done():
                progress.advance(await asyncio.to_thread(_drain, counts, 0.2))
            progress.advance(_drain_now(counts))
            plans: list[Plan] = done.result()
        finally:
            if not done.done():
                done.cancel()
                with contextlib.suppress(BaseException):
                    await done
    return Plan.merge(plans)


class _QueueProgress:
    """Progress of a worker process: record counts sent to the parent, one per batch."""

    def __init__(self, counts: Any) -> None:
        self.counts = counts

    def begin(self, phase: str, total: int, unit: str) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        self.counts.put(count)

    def end(self) -> None:
        pass


def _fold_in_process(bootstrap: str, topic: str, spans: dict[int, Span], rules: JoinRules,
                     keyed: bool, timeout: float, counts: Any) -> Plan:
    async def run() -> Plan:
        reader = TopicReader(bootstrap, client_id="wrapup-replay-shard", timeout=timeout)
        await reader.start()
        try:
            return await fold(reader, topic, spans, rules, keyed, _QueueProgress(counts))
        finally:
            await reader.stop()
    return asyncio.run(run())


def _drain(counts: Any, wait: float) -> int:
    try:
        total = int(counts.get(timeout=wait))
    except queue.Empty:
        return 0
    return total + _drain_now(counts)


def _drain_now(counts: Any) -> int:
    total = 0
    with contextlib.suppress(queue.Empty):
        while True:
            total += int(counts.get_nowait())
    return total
