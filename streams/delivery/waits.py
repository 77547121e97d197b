"""A sleep that a delivery's ``cancelled`` event cuts short (backoff, rate-limit waits)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Sleep = Callable[[float], Awaitable[None]]


async def wait(sleep: Sleep, delay: float, cancelled: asyncio.Event | None) -> bool:
    """Sleep ``delay`` seconds; False (at once) if ``cancelled`` is or becomes set."""
    if cancelled is None:
        await sleep(delay)
        return True
    if cancelled.is_set():
        return False
    sleeper = asyncio.ensure_future(sleep(delay))
    stopper = asyncio.ensure_future(cancelled.wait())
    try:
        await asyncio.wait((sleeper, stopper), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, stopper):
            task.cancel()
        await asyncio.gather(sleeper, stopper, return_exceptions=True)
    return not cancelled.is_set()
