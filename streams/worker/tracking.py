"""Sends the worker waits for before it commits: changelog, dead-letter and re-keyed copies."""

from __future__ import annotations

import asyncio
import time
from typing import Any


class AckTracker:
    """The produce futures not yet acknowledged by the broker."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Future[Any]] = set()

    def track(self, fut: Any) -> Any:
        """Remember an unacknowledged send until it completes; returns ``fut``."""
        self._pending.add(fut)
        fut.add_done_callback(self._pending.discard)
        return fut

    async def send(self, topic: Any, **kwargs: Any) -> None:
        """``topic.send(**kwargs)``, tracked until acknowledged."""
        self.track(await topic.send(**kwargs))

    def __len__(self) -> int:
        return len(self._pending)

    async def wait_issued(self, timeout: float) -> None:
        """Wait until every send issued before this call is acknowledged (later ones
        need not be: the offsets being committed were computed before); raise
        :class:`TimeoutError` rather than return with one missing."""
        snapshot = list(self._pending)
        deadline = time.monotonic() + timeout
        while True:
            waiting = [f for f in snapshot if not f.done()]
            if not waiting:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(waiting)} changelog/dead-letter writes "
                                   f"unacknowledged after {timeout:.0f}s: not committing "
                                   "past them")
            await asyncio.wait(waiting, timeout=remaining)
