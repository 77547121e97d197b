"""What the worker keeps per assigned partition beside the table: when its entries fall
due (:class:`~streams.schedule.ExpiryIndex`), how many are in each status, and the open
deliveries it inherited at its assignment, until they are planned for resumption.

Rebuilt from the table after each assignment, in one pass for every partition.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from collections.abc import Iterable

from streams.join import InteractionState, Status
from streams.schedule import ExpiryIndex
from streams.worker.table import scan

log = logging.getLogger("wrapup.worker")


class PartitionBook:
    """Per-partition bookkeeping of the worker (see the module docstring)."""

    def __init__(self) -> None:
        self.index = ExpiryIndex()
        self._mine: set[int] = set()  # the join source's partitions assigned to us
        self._inherited: dict[int, list[bytes]] = {}  # DISPATCHING keys, until taken
        self._counts: dict[int, Counter[Status]] = {}

    def ensure_built(self, partition: int, items: Iterable[tuple[bytes, bytes]]) -> bool:
        """Index every assigned partition not yet indexed (``partition`` is one: its tick
        was read) in one pass over the table's ``items``; True if it indexed any."""
        if self.index.is_built(partition):
            return False
        began = time.monotonic()
        self._mine.add(partition)
        todo = {p for p in self._mine if not self.index.is_built(p)}
        for p, found in scan(items, todo).items():
            self.index.rebuild(p, found.entries)
            self._counts[p] = found.counts
            self._inherited[p] = found.dispatching
        # What the table holds now lives for hours: keep the cyclic GC from walking it.
        gc.collect()
        gc.freeze()
        log.info("partitions indexed", extra={"partitions": sorted(todo),
                                              "entries": len(self.index),
                                              "seconds": round(time.monotonic() - began, 3)})
        return True

    def take_inherited(self, partition: int) -> list[bytes] | None:
        """The partition's inherited open deliveries, once (None: already taken)."""
        return self._inherited.pop(partition, None)

    def changed(self, partition: int, key: bytes, old: InteractionState | None,
                new: InteractionState | None) -> None:
        """A table entry of ``partition`` changed from ``old`` to ``new``."""
        counts = self._counts.setdefault(partition, Counter())
        if old is not None:
            counts[old.status] -= 1
        if new is not None:
            counts[new.status] += 1
            # One index entry per key: an entry due before its state is scheduled again
            # when it falls due (see due()), so only an earlier expiry needs a new one.
            if old is None or new.expires_at < old.expires_at or old.partition != partition:
                self.index.schedule(partition, key, new.expires_at)

    def later(self, partition: int, key: bytes, expires_at: float) -> None:
        """An entry fell due early: its state expires at ``expires_at``."""
        self.index.schedule(partition, key, expires_at)

    def totals(self) -> Counter[Status]:
        """Entries by status over the assigned partitions."""
        total: Counter[Status] = Counter()
        for counts in self._counts.values():
            total.update(counts)
        return total

    def assigned(self, mine: set[int]) -> list[int]:
        """A new assignment: every partition is indexed again; returns those lost."""
        lost = [p for p in self._counts if p not in mine]
        self.index.forget(set(self._counts) | mine)
        self._mine = set(mine)
        self._inherited.clear()
        for p in lost:
            self._counts.pop(p, None)
        return lost
