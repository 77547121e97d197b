"""A scan process: folds the partitions it is given and sends its plan back.

:mod:`streams.replay.parallel` starts it as ``python -m streams.replay.shard``: a fresh
interpreter that imports the scan and the join core only. (multiprocessing's spawn would
also import the parent's main module again, the CLI or a caller's script, which took
longer than the process's first batch of records.) It is started before the parent reads
the outcomes ledger, so it is ready by the time its assignment comes.

Protocol, parent to child (stdin): one pickled :class:`Assignment`; stdin closed with
nothing written means "not needed", and the process exits 0. Child to parent (stdout):
frames of a kind byte, an 8-byte big-endian number and, for ``PLAN`` and ``ERROR``, that
many bytes of payload: ``COUNT`` (records folded since the last count), then ``PLAN``
(:meth:`Plan.to_bytes`) or ``ERROR`` (one line of UTF-8). Anything else the process
prints goes to stderr, never into the frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import pickle
import signal
import struct
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from streams.events import parse_event
from streams.join import JoinRules
from streams.kafka.errors import KafkaAccessError
from streams.kafka.reader import Span, TopicReader
from streams.kafka.security import KafkaSecurity
from streams.replay.errors import ReplayError
from streams.replay.plan import Decode, Plan, Planner
from streams.replay.progress import Progress

FRAME = struct.Struct(">cQ")
COUNT, PLAN, ERROR = b"c", b"p", b"e"


@dataclass(frozen=True, slots=True)
class Assignment:
    """What one scan process reads and how it folds it."""

    bootstrap_servers: str
    topic: str
    spans: dict[int, Span]
    rules: JoinRules
    keyed: bool
    timeout: float
    # Secrets included: an assignment travels on the scan process's stdin only.
    security: KafkaSecurity = field(default_factory=KafkaSecurity)
    decode: Decode = parse_event  # the platform's events side (picklable)


class FrameProgress:
    """Progress of a scan process: record counts, sent a few times a second."""

    def __init__(self, out: BinaryIO, interval: float = 0.25) -> None:
        self.out = out
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
            self.out.write(FRAME.pack(COUNT, self._unsent))
            self.out.flush()
            self._unsent = 0


async def fold(reader: TopicReader, topic: str, spans: dict[int, Span], rules: JoinRules,
               keyed: bool, progress: Progress, decode: Decode = parse_event) -> Plan:
    """Read ``spans`` with ``reader`` and fold them in this process."""
    planner = Planner(rules, {p: s.mark for p, s in spans.items()}, keyed=keyed,
                      decode=decode)

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


async def fold_assignment(job: Assignment, out: BinaryIO) -> Plan:
    """Read and fold ``job``'s spans with a reader of this process's own."""
    reader = TopicReader(job.bootstrap_servers, client_id="wrapup-replay-shard",
                         timeout=job.timeout, security=job.security)
    await reader.start()
    progress = FrameProgress(out)
    try:
        return await fold(reader, job.topic, job.spans, job.rules, job.keyed, progress,
                          job.decode)
    finally:
        progress.end()
        await reader.stop()


def main() -> int:
    """Wait for an assignment on stdin, fold it, write the frames to stdout."""
    # Ctrl-C reaches the whole process group; the parent stops its scan processes itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to stderr, not into the frames
    try:
        job = pickle.load(sys.stdin.buffer)
    except EOFError:
        return 0  # dismissed: the scan needed fewer processes
    try:
        kind, payload = PLAN, asyncio.run(fold_assignment(job, out)).to_bytes()
    except (ReplayError, KafkaAccessError) as exc:  # the parent raises it as a ReplayError
        kind, payload = ERROR, str(exc).encode()
    except Exception as exc:
        traceback.print_exc()
        kind, payload = ERROR, f"{type(exc).__name__}: {exc}".encode()
    out.write(FRAME.pack(kind, len(payload)))
    out.write(payload)
    out.flush()
    return 0 if kind == PLAN else 1


if __name__ == "__main__":
    sys.exit(main())
