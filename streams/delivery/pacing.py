"""Every API request waits for the rate limiter and is counted: the client's event hooks.

Installed as the ``httpx.AsyncClient``'s request and response hooks, so a request the
auth flow re-sends after a 401 (:mod:`.bearer`) is paced and counted like the first one.
A request carries a :class:`RequestContext` in its extensions (endpoint label, the
delivery's cancel event, how many times it went out); one without (the token endpoint's)
passes untouched: token fetches bypass the limiter and :mod:`.auth` counts them.

Hooks rather than a wrapping transport: handing httpx an explicit transport turns off
its environment proxies (``HTTPS_PROXY``), which would change what production connects
through.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from streams import metrics
from streams.delivery.ratelimit import RateLimiter, Reservation
from streams.delivery.telemetry import record_request
from streams.delivery.waits import Sleep, wait

CONTEXT = "wrapup_context"  # the request extension holding the RequestContext


class RequestCancelled(Exception):
    """The delivery was cancelled while its request waited for the rate limiter."""


class RequestDeferred(Exception):
    """The request would wait for the limiter longer than its ``max_wait``: not sent."""


@dataclass(slots=True)
class RequestContext:
    """One logical API request: its metric label, cancel event and sends so far."""

    endpoint: str
    cancelled: asyncio.Event | None = None
    sent: int = 0  # requests that went out (2: re-sent after a 401)
    started: float | None = None  # perf_counter of the send in flight, if any
    max_wait: float | None = None  # longest limiter wait allowed (a guarded write), else any
    booked_at: float | None = None  # a slot booked earlier (monotonic): used, not reserved

    def failed(self, status: str) -> None:
        """Count the send in flight as ended without a response (timeout, connect_error)."""
        if self.started is not None:
            record_request(self.endpoint, status, time.perf_counter() - self.started)
            self.started = None


class Pacing:
    """The hooks: book a limiter slot before each send, count each answer after it."""

    def __init__(self, limiter: RateLimiter, sleep: Sleep) -> None:
        self.limiter = limiter
        self._sleep = sleep

    def hooks(self) -> dict[str, list[Any]]:
        """``event_hooks`` for ``httpx.AsyncClient``."""
        return {"request": [self.on_request], "response": [self.on_response]}

    async def on_request(self, request: httpx.Request) -> None:
        ctx = request.extensions.get(CONTEXT)
        if not isinstance(ctx, RequestContext):
            return
        if ctx.booked_at is not None:  # booked with the read before it (a guarded write)
            reservation = Reservation(self.limiter.until(ctx.booked_at), "client")
            ctx.booked_at = None  # a re-send after a 401 books anew
        else:
            reservation = self.limiter.reserve()
            if ctx.max_wait is not None and reservation.delay > ctx.max_wait:
                raise RequestDeferred  # the slot goes unused: harmless
        if reservation.delay > 0:
            metrics.RATE_LIMIT_WAITS.labels(source=reservation.source).inc()
            metrics.RATE_LIMIT_WAIT_SECONDS.labels(source=reservation.source).inc(
                reservation.delay
            )
            if not await wait(self._sleep, reservation.delay, ctx.cancelled):
                raise RequestCancelled
        ctx.sent += 1
        ctx.started = time.perf_counter()

    async def on_response(self, response: httpx.Response) -> None:
        ctx = response.request.extensions.get(CONTEXT)
        if not isinstance(ctx, RequestContext) or ctx.started is None:
            return
        await response.aread()  # the duration covers the body, as a caller sees it
        record_request(ctx.endpoint, str(response.status_code),
                       time.perf_counter() - ctx.started)
        ctx.started = None
