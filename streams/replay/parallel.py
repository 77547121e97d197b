"""Scan and plan on several cores: one process per group of partitions.

Folding events through the join core costs far more CPU than reading them, so a long
window is folded in parallel. This is exact only for a topic keyed by interaction ID,
where all of an interaction's events are in one partition (the worker's join relies on
the same); an unkeyed topic is always folded in one process. This process folds one
share itself; each scan process (:mod:`streams.replay.shard`) opens its own consumer,
reads its partitions' spans, folds them with its own :class:`~streams.replay.plan.Planner`,
and sends back progress counts and its :class:`Plan`, merged here.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import pickle
import sys
from pathlib import Path

import streams
from streams.events import parse_event
from streams.join import JoinRules
from streams.kafka.reader import Span, TopicReader
from streams.replay.errors import ReplayError
from streams.replay.plan import Decode, Plan
from streams.replay.progress import Progress
from streams.replay.shard import COUNT, FRAME, PLAN, Assignment, fold, paused_gc

# Below this many records per extra process, starting processes costs more than it saves.
MIN_RECORDS_PER_PROCESS = 100_000
# A scan process's plan arrives in one frame of a few MB: read it in large chunks.
FRAME_BUFFER_BYTES = 16 * 1024 * 1024
STOP_TIMEOUT = 5.0


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


class ScanProcesses:
    """Scan processes for the shards after this process's own, started ahead of the scan.

    Started as soon as the spans are known (before the ledger is read), so that their
    interpreters are ready when the scan begins; see :mod:`streams.replay.shard`. Use as
    an async context manager: leaving it stops whatever is still running.
    """

    def __init__(self, processes: list[asyncio.subprocess.Process]) -> None:
        self._processes = processes
        self._busy: list[asyncio.subprocess.Process] = []  # those given an assignment

    @classmethod
    async def start(cls, count: int) -> ScanProcesses:
        """``count`` idle scan processes (none for 0)."""
        processes = []
        # The package this process runs, whether installed or on a caller's sys.path.
        root = str(Path(streams.__file__).resolve().parents[1])
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        try:
            for _ in range(count):
                processes.append(await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "streams.replay.shard",
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                    limit=FRAME_BUFFER_BYTES, env={**os.environ, "PYTHONPATH": path}))
        except OSError as exc:
            await cls(processes).close()
            raise ReplayError(f"cannot start a scan process: {exc}") from None
        return cls(processes)

    async def __aenter__(self) -> ScanProcesses:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def fold(self, reader: TopicReader, topic: str, spans: dict[int, Span],
                   rules: JoinRules, keyed: bool, progress: Progress,
                   timeout: float, decode: Decode = parse_event) -> Plan:
        """Fold ``spans`` here and in the scan processes: this process folds the first
        share with ``reader``, each scan process one of the others."""
        own, *others = shard(spans, 1 + len(self._processes))
        busy = self._busy = self._processes[:len(others)]
        for process in self._processes[len(others):]:
            _dismiss(process)
        if not others:
            return await fold(reader, topic, own, rules, keyed, progress, decode)
        for process, group in zip(busy, others, strict=True):
            job = Assignment(reader.bootstrap_servers, topic, group, rules, keyed, timeout,
                             reader.security, decode)
            await _assign(process, job)
        collected = asyncio.gather(*(_plan_of(i, process, progress)
                                     for i, process in enumerate(busy, start=1)))
        try:
            mine = await fold(reader, topic, own, rules, keyed, progress, decode)
            encoded = await collected
        finally:
            if not collected.done():
                collected.cancel()
                with contextlib.suppress(BaseException):
                    await collected
        with paused_gc():
            return Plan.merge([mine, *(Plan.from_bytes(raw) for raw in encoded)])

    async def close(self) -> None:
        """Dismiss the idle processes, kill the assigned ones still running (a scan that
        failed or was interrupted), and wait for all."""
        for process in self._processes:
            if process in self._busy and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            _dismiss(process)
        for process in self._processes:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        self._processes, self._busy = [], []


def _dismiss(process: asyncio.subprocess.Process) -> None:
    """Let an idle scan process go: its stdin closes with no assignment, it exits 0."""
    if process.stdin is not None and not process.stdin.is_closing():
        process.stdin.close()


async def _assign(process: asyncio.subprocess.Process, job: Assignment) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(pickle.dumps(job))
        await process.stdin.drain()
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        raise ReplayError(f"a scan process exited before its assignment "
                          f"(code {await process.wait()})") from None


async def _plan_of(number: int, process: asyncio.subprocess.Process,
                   progress: Progress) -> bytes:
    """A scan process's encoded plan; its record counts go on to ``progress``. Raises
    :class:`ReplayError` with what the process reported, or if it died without a word."""
    stream = process.stdout
    assert stream is not None
    try:
        while True:
            kind, size = FRAME.unpack(await stream.readexactly(FRAME.size))
            if kind == COUNT:
                progress.advance(size)
            elif kind == PLAN:
                return await stream.readexactly(size)
            else:
                message = (await stream.readexactly(size)).decode(errors="replace")
                raise ReplayError(message)
    except asyncio.IncompleteReadError:
        code = await process.wait()
        raise ReplayError(f"scan process {number} exited with code {code} "
                          f"before sending its plan") from None
