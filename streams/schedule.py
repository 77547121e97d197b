"""An in-memory index of when table entries fall due, per partition.

The table itself is the truth (each state carries its ``expires_at``); this index
only saves a full table scan on every tick. Its keys are the table's (leg keys).
Entries may be stale — the caller re-reads the state and lets
:func:`streams.join.expire` decide. After a rebalance a partition's index is rebuilt
from the table on its first tick.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable


class ExpiryIndex:
    """Min-heaps of ``(expires_at, key)`` per partition, plus which partitions are built."""

    def __init__(self) -> None:
        self._heaps: dict[int, list[tuple[float, bytes]]] = {}
        self._built: set[int] = set()

    def is_built(self, partition: int) -> bool:
        """True once the partition's index reflects the table (see :meth:`rebuild`)."""
        return partition in self._built

    def rebuild(self, partition: int, entries: Iterable[tuple[bytes, float]]) -> None:
        """Replace a partition's index with ``(key, expires_at)`` pairs from the table."""
        heap = [(expires_at, key) for key, expires_at in entries]
        heapq.heapify(heap)
        self._heaps[partition] = heap
        self._built.add(partition)

    def schedule(self, partition: int, key: bytes, expires_at: float) -> None:
        """Remember that ``key`` is due at ``expires_at`` (older entries become stale)."""
        if partition in self._built:
            heapq.heappush(self._heaps[partition], (expires_at, key))

    def pop_due(self, partition: int, now: float, limit: int = 10_000) -> list[bytes]:
        """Keys whose entries are due at ``now`` (deduplicated, at most ``limit``)."""
        heap = self._heaps.get(partition)
        due: dict[bytes, None] = {}
        while heap and heap[0][0] <= now and len(due) < limit:
            due[heapq.heappop(heap)[1]] = None
        return list(due)

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop partitions (revoked, or to be rebuilt after an assignment)."""
        for partition in partitions:
            self._heaps.pop(partition, None)
            self._built.discard(partition)

    def __len__(self) -> int:
        return sum(len(h) for h in self._heaps.values())
