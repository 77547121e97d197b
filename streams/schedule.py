"""An in-memory index of when table entries fall due, per partition.

The table itself is the truth (each state carries its ``expires_at``); this index
only saves a full table scan on every tick. Its keys are the table's (leg keys).
Entries may be stale or early — the caller re-reads the state, lets
:func:`streams.join.expire` decide and schedules a state that is not yet due again.
After a rebalance a partition's index is rebuilt from the table on its first tick.

Keys are kept in one-second buckets (a list per whole second, a heap of the seconds),
so an entry costs a list slot pointing at the table's own key object rather than a
tuple, a float and a heap slot; an entry falls due at the end of its second, never
before its ``expires_at``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable


class _Partition:
    """One partition's buckets: second -> keys, and a min-heap of those seconds."""

    __slots__ = ("buckets", "seconds", "size")

    def __init__(self) -> None:
        self.buckets: dict[int, list[bytes]] = {}
        self.seconds: list[int] = []
        self.size = 0

    def add(self, key: bytes, expires_at: float) -> None:
        second = math.ceil(expires_at)
        bucket = self.buckets.get(second)
        if bucket is None:
            bucket = self.buckets[second] = []
            heapq.heappush(self.seconds, second)
        bucket.append(key)
        self.size += 1


class ExpiryIndex:
    """Which keys of each partition fall due when, plus which partitions are built."""

    def __init__(self) -> None:
        self._partitions: dict[int, _Partition] = {}

    def is_built(self, partition: int) -> bool:
        """True once the partition's index reflects the table (see :meth:`rebuild`)."""
        return partition in self._partitions

    def rebuild(self, partition: int, entries: Iterable[tuple[bytes, float]]) -> None:
        """Replace a partition's index with ``(key, expires_at)`` pairs from the table."""
        index = _Partition()
        for key, expires_at in entries:
            index.add(key, expires_at)
        self._partitions[partition] = index

    def schedule(self, partition: int, key: bytes, expires_at: float) -> None:
        """Remember that ``key`` is due at ``expires_at`` (an older entry becomes stale)."""
        index = self._partitions.get(partition)
        if index is not None:
            index.add(key, expires_at)

    def pop_due(self, partition: int, now: float, limit: int = 10_000) -> list[bytes]:
        """Keys whose entries are due at ``now`` (deduplicated, at most ``limit``)."""
        index = self._partitions.get(partition)
        due: dict[bytes, None] = {}
        if index is None:
            return []
        seconds, buckets = index.seconds, index.buckets
        while seconds and seconds[0] <= now and len(due) < limit:
            bucket = buckets[seconds[0]]
            while bucket and len(due) < limit:
                due[bucket.pop()] = None
                index.size -= 1
            if not bucket:
                del buckets[heapq.heappop(seconds)]
        return list(due)

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop partitions (revoked, or to be rebuilt after an assignment)."""
        for partition in partitions:
            self._partitions.pop(partition, None)

    def __len__(self) -> int:
        return sum(p.size for p in self._partitions.values())
