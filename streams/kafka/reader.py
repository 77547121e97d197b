"""A bounded reader of Kafka topics: from offsets for a time up to a snapshot of the end.

The end offsets are taken once, before reading, so a read never tails a live topic: it
reads exactly the records that existed when it started (or up to the offsets for an end
time) and stops. Records are handed over in large per-partition batches, in offset order,
straight from aiokafka (no per-record copies), which is what makes a scan fast. Replay
scans its window with it; the worker reads the holes Faust leaves after a rebalance.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from streams.kafka.admin import Admin
from streams.kafka.errors import KafkaAccessError, KafkaReadError, start_client
from streams.kafka.security import KafkaSecurity

__all__ = ["FETCH_MAX_BYTES", "PARTITION_FETCH_BYTES", "Batch", "KafkaReadError", "Span",
           "TopicReader"]

Batch = Callable[[int, Sequence[Any]], None]  # (partition, records) -> None

# Fetch sizes: large fetches amortize per-request costs over many records.
FETCH_MAX_BYTES = 64 * 1024 * 1024
PARTITION_FETCH_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Span:
    """Offsets of one partition to read: ``[start, end)``; ``mark`` is the window start."""

    start: int
    mark: int
    end: int

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


class TopicReader:
    """One assign-only consumer (no group, no commits) for bounded reads."""

    def __init__(self, bootstrap_servers: str, *, client_id: str = "wrapup-replay",
                 timeout: float = 15.0, security: KafkaSecurity | None = None) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.timeout = timeout
        self.security = security or KafkaSecurity()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=int(timeout * 1000),
            fetch_max_bytes=FETCH_MAX_BYTES,
            max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
            fetch_max_wait_ms=100,
            check_crcs=False,
            **self.security.client_options(),
        )
        self._admin = Admin(bootstrap_servers, client_id=f"{client_id}-admin", timeout=timeout,
                            security=self.security)
        self._started = False

    async def start(self) -> None:
        """Connect; a :class:`~streams.kafka.errors.KafkaAccessError` if the broker cannot
        be reached."""
        try:
            await self._admin.start()
        except KafkaAccessError:
            await self._quiet_stop()
            raise
        await start_client(self._consumer.start(), self._quiet_stop, self.bootstrap_servers,
                           self.timeout, KafkaReadError)
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._consumer.stop()
            await self._admin.close()

    async def _quiet_stop(self) -> None:
        with contextlib.suppress(Exception):  # best effort after a failed start
            await self._consumer.stop()
        with contextlib.suppress(Exception):
            await self._admin.close()

    async def partitions(self, topic: str) -> list[int] | None:
        """The topic's partitions, or None if it does not exist (describing it fails with
        :class:`~streams.kafka.errors.KafkaAdminError`)."""
        return await self._admin.partitions(topic)

    async def spans(self, topic: str, partitions: Sequence[int], start: float | None,
                    mark: float | None, end: float | None) -> dict[int, Span]:
        """Offsets for the times ``start`` <= ``mark`` <= ``end`` (epoch seconds; None:
        the beginning for ``start``/``mark``, the end snapshot for ``end``)."""
        tps = [TopicPartition(topic, p) for p in partitions]
        c = self._consumer
        try:
            first = await asyncio.wait_for(c.beginning_offsets(tps), self.timeout)
            last = await asyncio.wait_for(c.end_offsets(tps), self.timeout)
            at_start = await self._offsets_at(tps, start, first, last)
            at_mark = await self._offsets_at(tps, mark, first, last)
            at_end = await self._offsets_at(tps, end, last, last)
        except (KafkaError, TimeoutError) as exc:
            raise KafkaReadError(f"cannot read offsets of {topic!r}: "
                                 f"{type(exc).__name__}") from None
        spans = {}
        for tp in tps:
            stop = min(at_end[tp], last[tp])
            begin = min(at_start[tp], stop)
            spans[tp.partition] = Span(begin, min(max(at_mark[tp], begin), stop), stop)
        return spans

    async def _offsets_at(self, tps: list[TopicPartition], at: float | None,
                          default: dict[TopicPartition, int],
                          last: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        if at is None:
            return dict(default)
        found = await self._consumer.offsets_for_times({tp: max(0, int(at * 1000))
                                                        for tp in tps})
        # No record at or after ``at``: everything before the end is earlier.
        return {tp: (found[tp].offset if found.get(tp) is not None else last[tp])
                for tp in tps}

    async def read(self, topic: str, spans: dict[int, Span], on_batch: Batch, *,
                   stall_timeout: float = 30.0) -> int:
        """Read every span, calling ``on_batch(partition, records)`` in offset order.

        Returns the number of records read. Raises :class:`KafkaReadError` when no record
        arrives for ``stall_timeout`` seconds while some remain (the broker went away).
        """
        c = self._consumer
        todo = {TopicPartition(topic, p): s for p, s in spans.items() if s.size > 0}
        c.assign(list(todo))
        for tp, span in todo.items():
            c.seek(tp, span.start)
        total = 0
        last_progress = time.monotonic()
        while todo:
            try:
                batches = await c.getmany(*todo, timeout_ms=500)
            except KafkaError as exc:
                raise KafkaReadError(f"reading {topic!r} failed: {type(exc).__name__}") from None
            for tp, records in batches.items():
                end = todo[tp].end if tp in todo else -1
                if not records or end < 0:
                    continue
                if records[-1].offset >= end:
                    records = [r for r in records if r.offset < end]
                if records:
                    on_batch(tp.partition, records)
                    total += len(records)
                    last_progress = time.monotonic()
            for tp in list(todo):
                if await c.position(tp) >= todo[tp].end:
                    del todo[tp]
                    c.pause(tp)
            if todo and time.monotonic() - last_progress > stall_timeout:
                raise KafkaReadError(f"reading {topic!r} stalled for {stall_timeout:.0f}s "
                                  f"with {len(todo)} partition(s) unfinished")
        c.unsubscribe()
        return total
