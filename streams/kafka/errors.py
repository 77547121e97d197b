"""Errors of the Kafka plumbing: neutral (neither replay's nor the worker's), one line each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiokafka.errors import KafkaError


class KafkaAccessError(Exception):
    """Talking to Kafka failed; the message is one line fit for an operator."""


class KafkaAdminError(KafkaAccessError):
    """The broker is unreachable, or a topic could not be created or described."""


class KafkaReadError(KafkaAccessError):
    """A bounded read could not start, failed or stalled."""


class KafkaToolError(KafkaAccessError):
    """A Kafka Java tool could not run or exited non-zero."""


async def start_client(
    start: Awaitable[None],
    close: Callable[[], Awaitable[object]],
    bootstrap_servers: str,
    timeout: float,
    error: type[KafkaAccessError],
) -> None:
    """Await a client's ``start`` within ``timeout``; on failure ``close`` it and raise
    ``error("cannot reach Kafka at …: <exception type>")`` (aiokafka's own traceback logs
    are muted meanwhile: the one line says it)."""
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        await asyncio.wait_for(start, timeout)
    except (KafkaError, OSError, TimeoutError) as exc:
        with contextlib.suppress(Exception):  # best effort after a failed start
            await close()
        raise error(f"cannot reach Kafka at {bootstrap_servers}: {type(exc).__name__}") from None
    finally:
        quiet.setLevel(level)
