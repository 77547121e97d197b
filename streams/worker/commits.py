"""The commit protocol: what must hold before a source offset is committed, in order.

Faust commits the offsets of acknowledged records every ``broker_commit_interval``. Its
own steps, before it calls the consumer's ``_commit`` (faust-streaming 0.15,
``Consumer._commit_offsets``), are:

1. compute the offsets to commit from the records the agent has acknowledged;
2. flush its producer buffer (``app.producer.flush()``).

:class:`CommitProtocol` replaces ``_commit`` and adds, in order:

3. wait for the broker's acknowledgement of every tracked write issued so far (table
   changelog, dead letters, re-keyed copies): Faust's flush gives up after 0.1 s
   without progress, and a committed offset whose table write was lost would forget a
   decision; a write that is not acknowledged in time stops the commit (an error);
4. cap each offset at the continuity guard's next expected offset, so a hole being
   read (records Faust skipped) is never committed;
5. commit the capped offsets.

The agent acknowledges a record only after its table writes were issued (inside stream
iteration), so the offsets of step 1 never run ahead of the writes step 3 waits for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from streams.continuity import ContinuityGuard
from streams.worker.tracking import AckTracker

Offsets = Mapping[Any, int]  # TP -> offset
CommitFn = Callable[[Offsets], Awaitable[bool]]

FLUSH_TIMEOUT_SECONDS = 60.0  # a commit waits at most this long for our writes' acks


class CommitProtocol:
    """Steps 3-5 above around the consumer's own commit (see the module docstring)."""

    def __init__(self, tracker: AckTracker, guard: ContinuityGuard,
                 flush_timeout: float = FLUSH_TIMEOUT_SECONDS) -> None:
        self.tracker = tracker
        self.guard = guard
        self.flush_timeout = flush_timeout

    async def commit(self, offsets: Offsets, commit: CommitFn) -> bool:
        """Commit ``offsets`` with ``commit`` once steps 3 and 4 hold."""
        await self.tracker.wait_issued(self.flush_timeout)  # 3. writes acknowledged
        capped = self.cap(offsets)  # 4. never past a hole
        return bool(await commit(capped))  # 5.

    def cap(self, offsets: Offsets) -> dict[Any, int]:
        """Each offset, no higher than the next one the join has yet to process."""
        capped = {}
        for tp, offset in offsets.items():
            cap = self.guard.commit_cap((tp.topic, tp.partition))
            capped[tp] = offset if cap is None else min(offset, cap)
        return capped

    def install(self, consumer: Any) -> None:
        """Run every commit of Faust's ``consumer`` through :meth:`commit` (once)."""
        if getattr(consumer, "_wrapup_commit_protocol", None) is self:
            return
        original: CommitFn = consumer._commit

        async def commit(offsets: Offsets) -> bool:
            return await self.commit(offsets, original)

        consumer._commit = commit
        consumer._wrapup_commit_protocol = self
