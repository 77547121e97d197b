"""Condition-with-deadline waits shared by the tests (no sleep-and-hope)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar, overload

REPO = Path(__file__).resolve().parents[1]  # the repository root

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition did not become true before the deadline."""


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str = "condition",
) -> T:
    """Call ``predicate`` until it returns something truthy (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last: T = predicate()
    while not last:
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{message} not met within {timeout}s (last value: {last!r})")
        time.sleep(interval)
        last = predicate()
    return last


@overload
async def async_wait_for(
    predicate: Callable[[], Awaitable[T]],
    timeout: float = ...,
    interval: float = ...,
    message: str = ...,
) -> T: ...


@overload
async def async_wait_for(
    predicate: Callable[[], T],
    timeout: float = ...,
    interval: float = ...,
    message: str = ...,
) -> T: ...


async def async_wait_for(
    predicate: Callable[[], T | Awaitable[T]],
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str = "condition",
) -> T:
    """Async :func:`wait_for`; ``predicate`` may be a plain or a coroutine function."""

    async def call() -> T:
        value = predicate()
        if inspect.isawaitable(value):
            return await value
        return value

    deadline = time.monotonic() + timeout
    last = await call()
    while not last:
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{message} not met within {timeout}s (last value: {last!r})")
        await asyncio.sleep(interval)
        last = await call()
    return last
