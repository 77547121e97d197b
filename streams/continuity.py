"""Offset continuity of the join's source partitions: no record may be skipped unseen.

Around a rebalance, Faust (0.15) can hand the agent a partition's records with a hole:
records fetched while the flow was suspended are dropped, and the consumer then treats
the jump in offsets as a gap (as for a compacted topic) and marks the missing offsets
acknowledged, so they are committed without ever being processed. For the join that
means lost ``ended``/``wrapping-up`` events and wrap-ups never posted.

:class:`ContinuityGuard` is the pure bookkeeping that closes the hole. Per partition it
knows the next offset it expects; a record past it is a gap, answered once with a
rewind to the first missing offset (the shell seeks there). Records that arrive after a
rewind but were fetched before it (past the gap) are passed over: they come again, in
order. If the re-read starts past the rewind point, those offsets really do not exist
(compaction, transaction markers) and the guard moves on. Until the re-read has passed
the gap, commits of that partition are capped at the next expected offset.

The hole appears only right after an assignment, so the guard checks the first
:data:`ARMED_RECORDS` records of each partition after a rebalance and then only counts:
a topic with real gaps (a transactional producer's markers) costs a few extra seeks per
rebalance, not one per transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from dataclasses import dataclass

ARMED_RECORDS = 10_000  # records per partition checked after each rebalance

class Verdict(enum.Enum):
    """What to do with the record just observed."""

    PROCESS = "process"
    PASS_OVER = "pass_over"  # fetched before a rewind: it will be read again, in order
    REWIND = "rewind"  # records are missing before it: seek to ``Step.seek_to``


@dataclass(frozen=True, slots=True)
class Step:
    verdict: Verdict
    seek_to: int | None = None


_PROCESS = Step(Verdict.PROCESS)
_PASS_OVER = Step(Verdict.PASS_OVER)


@dataclass(slots=True)
class _Rewind:
    start: int  # first missing offset: where the re-read must begin
    end: int  # offset of the record that revealed the gap


class ContinuityGuard:
    """Next expected offset per partition; gaps become rewinds. No I/O.

    The shell tells it where reading (re)starts (:meth:`restart`, after the consumer
    seeks a newly assigned partition to its committed offset) and shows it every record
    (:meth:`observe`). Records older than expected are re-reads (a record fetched before
    that seek, or a rewind's re-read) and never move the expectation back.
    """

    def __init__(self) -> None:
        self._next: dict[Hashable, int] = {}
        self._rewinding: dict[Hashable, _Rewind] = {}
        self._holding: dict[Hashable, int] = {}  # cap commits until the re-read passes this
        self._armed: dict[Hashable, int] = {}  # records still to check, per partition

    def forget(self) -> None:
        """A rebalance: nothing is known until reading restarts (see :meth:`restart`)."""
        self._next.clear()
        self._rewinding.clear()
        self._holding.clear()
        self._armed.clear()

    def restart(self, tp: Hashable, offset: int | None) -> None:
        """Reading of ``tp`` (re)starts at ``offset`` (None: unknown, e.g. no commit yet)."""
        self._rewinding.pop(tp, None)
        self._holding.pop(tp, None)
        self._armed.pop(tp, None)
        if offset is None:
            self._next.pop(tp, None)
        else:
            self._next[tp] = offset

    def observe(self, tp: Hashable, offset: int) -> Step:
        """Judge the record at ``offset``."""
        rewind = self._rewinding.get(tp)
        if rewind is not None:
            if offset > rewind.end or offset < rewind.start:
                return _PASS_OVER  # fetched before the seek: read again / read already
            del self._rewinding[tp]  # the re-read has begun (at or after rewind.start)
            self._advance(tp, offset)
            return _PROCESS
        armed = self._armed.get(tp, ARMED_RECORDS)
        if armed > 0:
            self._armed[tp] = armed - 1
            expected = self._next.get(tp)
            if expected is not None and offset > expected:
                self._rewinding[tp] = _Rewind(expected, offset)
                self._holding[tp] = offset
                return Step(Verdict.REWIND, expected)
        self._advance(tp, offset)
        return _PROCESS

    def _advance(self, tp: Hashable, offset: int) -> None:
        if offset + 1 > self._next.get(tp, -1):
            self._next[tp] = offset + 1
        hold = self._holding.get(tp)
        if hold is not None and offset >= hold:
            del self._holding[tp]

    def commit_cap(self, tp: Hashable) -> int | None:
        """The highest offset that may be committed for ``tp`` now (None: no limit)."""
        if tp in self._holding:
            return self._next.get(tp)
        return None
