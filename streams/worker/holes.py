"""The continuity guard's shell: where reading restarts, and reading the holes it finds.

:mod:`streams.continuity` decides (pure); this module does the I/O: it learns from
Faust's seek where each source partition restarts, reads the records of a hole with a
separate bounded reader (seeking Faust's consumer races with its fetch loop) and hands
them, in order, to the caller's ``process``. See :mod:`streams.continuity` for why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from streams import metrics
from streams.config import Settings
from streams.continuity import ContinuityGuard, Hole
from streams.kafka.reader import KafkaReadError, Span, TopicReader

log = logging.getLogger("wrapup.worker")

HOLE_READ_ATTEMPTS = 3  # reads of records Faust skipped, before giving up
Process = Callable[[Any], Awaitable[None]]


class HoleFiller:
    """Finds holes in the join's source partitions (via the guard) and fills them."""

    def __init__(self, settings: Settings, outcomes_topic: str) -> None:
        self.settings = settings
        self.outcomes_topic = outcomes_topic
        self.guard = ContinuityGuard()
        self._reader: TopicReader | None = None
        self._first_seek_done = False

    # ------------------------------------------------------------ restarts
    def install(self, consumer: Any, sources: Collection[str]) -> None:
        """Learn from every seek of Faust's ``consumer`` to the committed offsets where
        reading of each partition of ``sources`` restarts (once)."""
        if getattr(consumer, "_wrapup_hole_filler", None) is self:
            return
        seek_to_committed = consumer.perform_seek

        async def perform_seek() -> None:
            await seek_to_committed()
            await self.on_seek(consumer, sources)

        consumer.perform_seek = perform_seek
        consumer._wrapup_hole_filler = self

    async def on_seek(self, consumer: Any, sources: Collection[str]) -> None:
        """After Faust sought to the committed offsets: tell the guard where reading
        restarts. A partition never committed (its last owner died before its first
        commit) starts where WRAPUP_AUTO_OFFSET_RESET says, but Faust's consumer may leave
        it at its end, skipping every record written before the assignment. At this
        process's first assignment the consumer is sought there. In a later, live
        rebalance seeking stalls the consumer (seen in the two-worker failover test), so
        only the guard expects the earliest offset: what the consumer skips is then a
        hole, revealed by the next record or by the tick's tail check."""
        first, self._first_seek_done = not self._first_seek_done, True
        uncommitted = [tp for tp, offset in consumer._read_offset.items()
                       if offset is None and tp.topic in sources]
        if uncommitted and self.settings.auto_offset_reset == "earliest":
            for tp, offset in (await consumer.earliest_offsets(*uncommitted)).items():
                if first:
                    await consumer.seek(tp, offset)
                self.guard.restart((tp.topic, tp.partition), offset)
        for tp, offset in list(consumer._read_offset.items()):
            if tp not in uncommitted:
                self.guard.restart((tp.topic, tp.partition), offset)

    def forget(self) -> None:
        """A rebalance: reading restarts from the committed offsets."""
        self.guard.forget()

    # --------------------------------------------------------------- holes
    async def before(self, topic: str, partition: int, offset: int,
                     process: Process) -> None:
        """Before the record at ``offset``: if records of this partition were skipped,
        read and ``process`` them first, in order."""
        tp = (topic, partition)
        hole = self.guard.observe(tp, offset)
        if hole is None:
            return
        await self._fill(topic, partition, hole, process,
                         "records were skipped: reading them first")
        self.guard.processed(tp, offset)

    async def tail(self, topic: str, partition: int, position: int | None,
                   process: Process) -> None:
        """On a tick: records the consumer moved past (``position``) but the join never
        saw, with no later record to reveal them, are read and processed now."""
        hole = self.guard.check_tail((topic, partition), position)
        if hole is not None:
            await self._fill(topic, partition, hole, process,
                             "records at a partition's tail were skipped: reading them")

    async def _fill(self, topic: str, partition: int, hole: Hole, process: Process,
                    message: str) -> None:
        source = "outcomes" if topic == self.outcomes_topic else "events"
        metrics.SOURCE_HOLES.labels(source).inc()
        log.warning(message, extra={
            "topic": topic, "partition": partition, "from": hole.start, "to": hole.end})
        for record in await self._read(topic, partition, hole):
            await process(record)
            self.guard.processed((topic, partition), record.offset)

    async def _read(self, topic: str, partition: int, hole: Hole) -> list[Any]:
        """The records of ``[hole.start, hole.end)`` (bounded, retried); raises when
        they cannot be read: commits of the partition stay behind the hole meanwhile."""
        if self._reader is None:
            self._reader = TopicReader(self.settings.kafka_bootstrap_servers,
                                       client_id=f"{self.settings.app_id}-holes",
                                       security=self.settings.kafka_security)
            await self._reader.start()
        records: list[Any] = []
        for attempt in range(1, HOLE_READ_ATTEMPTS + 1):
            records.clear()
            try:
                await self._reader.read(
                    topic, {partition: Span(hole.start, hole.start, hole.end)},
                    lambda _p, batch: records.extend(batch), stall_timeout=10.0)
                return records
            except KafkaReadError:
                log.warning("reading skipped records failed", exc_info=True,
                            extra={"attempt": attempt})
                await asyncio.sleep(attempt)
        raise RuntimeError(f"cannot read skipped records {hole.start}..{hole.end - 1} of "
                           f"{topic}/{partition}; commits stay behind them")

    async def stop(self) -> None:
        if self._reader is not None:
            await self._reader.stop()
            self._reader = None

