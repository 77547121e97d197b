"""Offset continuity of the join's source partitions: no record may be skipped unseen.

Around a rebalance, Faust (0.15) can hand the agent a partition's records with a hole:
records fetched while the flow was suspended are dropped, and the consumer then treats
the jump in offsets as a gap (as for a compacted topic) and marks the missing offsets
acknowledged, so they are committed without ever being processed. For the join that
means lost ``ended``/``wrapping-up`` events and wrap-ups never posted.

:class:`ContinuityGuard` is the pure bookkeeping that closes the hole. The shell tells
it where reading (re)starts (after Faust seeks a newly assigned partition to its
committed offset) and shows it every record. A record past the next expected offset
reveals a hole: the shell reads the missing records itself, with a separate bounded
reader (seeking Faust's consumer races with its fetch loop), processes them, and only
then the record that revealed the hole. Offsets that really do not exist (compaction,
transaction markers) simply read as nothing. Commits of a partition never pass the next
expected offset, so a hole is never committed, not even while it is being filled.

The hole appears only right after an assignment, so the guard checks the first
:data:`ARMED_RECORDS` records of each partition after a rebalance and then only counts.
Records older than expected (fetched before the seek, or re-read) are processed again
(the join ignores duplicates) and never move the expectation back.

A hole at the tail of a quiet partition has no later record to reveal it. On every tick
the shell shows the guard the consumer's position (the offset after the last record
handed to Faust) with :meth:`ContinuityGuard.check_tail`: a position ahead of the next
expected offset on two ticks in a row, with no progress in between, is a hole. Records
handed to the stream before a tick are processed before the next tick (one FIFO queue),
so only a record that never reached the join stays behind that long; a false alarm (a
stream slower than a tick) only re-reads records the join then ignores as duplicates.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

ARMED_RECORDS = 10_000  # records per partition checked after each rebalance

@dataclass(frozen=True, slots=True)
class Hole:
    """Offsets ``[start, end)`` of a partition that were skipped: read them first."""

    start: int
    end: int


class ContinuityGuard:
    """Next expected offset per partition; jumps past it are holes. No I/O."""

    def __init__(self) -> None:
        self._next: dict[Hashable, int] = {}
        self._armed: dict[Hashable, int] = {}  # records still to check, per partition
        self._suspects: dict[Hashable, Hole] = {}  # tails seen ahead at the last tick

    def forget(self) -> None:
        """A rebalance: nothing is known until reading restarts (see :meth:`restart`)."""
        self._next.clear()
        self._armed.clear()
        self._suspects.clear()

    def restart(self, tp: Hashable, offset: int | None) -> None:
        """Reading of ``tp`` (re)starts at ``offset`` (None: unknown, e.g. no commit yet)."""
        self._armed.pop(tp, None)
        self._suspects.pop(tp, None)
        if offset is None:
            self._next.pop(tp, None)
        else:
            self._next[tp] = offset

    def observe(self, tp: Hashable, offset: int) -> Hole | None:
        """The hole before the record at ``offset``, if any. The caller fills it, then
        calls :meth:`processed` for this record; without a hole this records it."""
        armed = self._armed.get(tp, ARMED_RECORDS)
        if armed > 0:
            self._armed[tp] = armed - 1
            expected = self._next.get(tp)
            if expected is not None and offset > expected:
                return Hole(expected, offset)
        self.processed(tp, offset)
        return None

    def processed(self, tp: Hashable, offset: int) -> None:
        """Every record of ``tp`` up to ``offset`` has been processed."""
        if offset + 1 > self._next.get(tp, -1):
            self._next[tp] = offset + 1

    def check_tail(self, tp: Hashable, position: int | None) -> Hole | None:
        """On a tick: the hole ``[expected, position)`` if ``tp``'s consumer position
        was already ahead of the next expected offset at the previous tick and nothing
        was processed since (see the module docstring); None otherwise."""
        expected = self._next.get(tp)
        if expected is None or position is None or position <= expected:
            self._suspects.pop(tp, None)
            return None
        suspect = self._suspects.get(tp)
        if suspect is None or suspect.start != expected:
            self._suspects[tp] = Hole(expected, position)
            return None
        del self._suspects[tp]
        return suspect

    def commit_cap(self, tp: Hashable) -> int | None:
        """The highest offset that may be committed for ``tp`` (None: no limit)."""
        return self._next.get(tp)
