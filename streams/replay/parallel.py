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
import gc
import math
import multiprocessing
import os
import queue
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from streams.join import JoinRules
from streams.replay.errors import ReplayError
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

    with paused_gc():
        await reader.read(topic, spans, feed)
        return planner.result()


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while folding.

    A scan keeps one state per interaction alive, so every automatic collection walks
    an ever larger heap: about a tenth of the scan's time. The fold creates no reference
    cycles (its objects are freed by reference counting), so what it leaves is frozen
    out of later collections rather than walked once more when the collector resumes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


async def fold_parallel(reader: TopicReader, topic: str, spans: dict[int, Span],
                        rules: JoinRules, keyed: bool, progress: Progress, processes: int,
                        timeout: float) -> Plan:
    """Fold ``spans`` over ``processes`` processes, this one included: it folds the first
    share with ``reader`` while ``processes - 1`` children fold the others."""
    own, *others = shard(spans, processes)
    if not others:
        return await fold(reader, topic, own, rules, keyed, progress)
    ctx = multiprocessing.get_context("spawn")  # no fork: the parent may run threads
    inbox: Any = ctx.Queue()  # (kind, child, payload) from the children, see _Child
    children = [
        ctx.Process(target=_fold_in_process, name=f"wrapup-replay-shard-{i}", daemon=True,
                    args=(i, reader.bootstrap_servers, topic, group, rules, keyed, timeout,
                          inbox))
        for i, group in enumerate(others)
    ]
    for child in children:
        child.start()
    collected = asyncio.ensure_future(_collect(inbox, children, progress))
    try:
        mine = await fold(reader, topic, own, rules, keyed, progress)
        encoded = await collected
    finally:
        if not collected.done():
            collected.cancel()
            with contextlib.suppress(BaseException):
                await collected
        for child in children:
            if child.is_alive():
                child.terminate()
            child.join(timeout=5)
        inbox.close()
    with paused_gc():
        return Plan.merge([mine, *(Plan.from_bytes(raw) for raw in encoded)])


async def _collect(inbox: Any, children: list[Any], progress: Progress) -> list[bytes]:
    """The children's encoded plans; their record counts go on to ``progress``. Raises
    what a child raised, or :class:`ReplayError` if one died without a word."""
    plans: dict[int, bytes] = {}
    while len(plans) < len(children):
        for kind, child, payload in await asyncio.to_thread(_receive, inbox, 0.2):
            if kind == "count":
                progress.advance(payload)
            elif kind == "plan":
                plans[child] = payload
            else:
                raise payload
        for i, child in enumerate(children):
            if i not in plans and child.exitcode is not None and inbox.empty():
                raise ReplayError(f"scan process {i} exited with code {child.exitcode}")
    return [plans[i] for i in range(len(children))]


def _receive(inbox: Any, wait: float) -> list[tuple[str, int, Any]]:
    """Whatever the children sent: the first message within ``wait`` seconds, then all
    that are ready."""
    try:
        messages = [inbox.get(timeout=wait)]
    except queue.Empty:
        return []
    with contextlib.suppress(queue.Empty):
        while True:
            messages.append(inbox.get_nowait())
    return messages


class _QueueProgress:
    """Progress of a child: record counts sent to the parent a few times a second."""

    def __init__(self, inbox: Any, child: int, interval: float = 0.25) -> None:
        self.inbox = inbox
        self.child = child
        self.interval = interval
        self._unsent = 0
        self._sent_at = time.monotonic()

    def begin(self, phase: str, total: int, unit: str) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        self._unsent += count
        now = time.monotonic()
        if now - self._sent_at >= self.interval:
            self.end()
            self._sent_at = now

    def end(self) -> None:
        if self._unsent:
            self.inbox.put(("count", self.child, self._unsent))
            self._unsent = 0


def _fold_in_process(child: int, bootstrap: str, topic: str, spans: dict[int, Span],
                     rules: JoinRules, keyed: bool, timeout: float, inbox: Any) -> None:
    """A child: fold ``spans`` and send the plan as :meth:`Plan.to_bytes` (far cheaper
    to ship than a pickle), or the exception that stopped it."""
    async def run() -> Plan:
        reader = TopicReader(bootstrap, client_id="wrapup-replay-shard", timeout=timeout)
        await reader.start()
        progress = _QueueProgress(inbox, child)
        try:
            return await fold(reader, topic, spans, rules, keyed, progress)
        finally:
            progress.end()
            await reader.stop()
    try:
        inbox.put(("plan", child, asyncio.run(run()).to_bytes()))
    except Exception as exc:  # the parent raises it
        inbox.put(("error", child, exc))
