"""One HTTP exchange with the platform API: rate limit, bearer token, timeout, metrics.

:class:`ApiClient` owns the process's single ``httpx.AsyncClient`` (explicit connect /
read / write / pool timeouts and a bounded connection pool). Each :meth:`ApiClient.send`
waits for the shared rate limiter, attaches the current token, sends, and on a 401 with
OAuth2 invalidates that token and re-sends once with a fresh one. Transport failures and
token-endpoint failures come back as an :class:`Exchange` with ``error`` set, never as an
exception, so the caller's retry logic sees one shape. A wait (for the limiter) ends early
when the caller's ``cancelled`` event is set.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import httpx

from streams import metrics
from streams.delivery.auth import ClientCredentials, StaticToken, TokenError, TokenSource
from streams.delivery.ratelimit import RateLimiter
from streams.delivery.telemetry import record_request

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Exchange:
    """The result of one request: a response, or an error label (never both)."""

    response: httpx.Response | None = None
    error: str | None = None  # timeout, connect_error, transport_error, token_*, cancelled
    retryable: bool = True
    sent: int = 1  # requests actually issued (0: stopped before sending; 2: re-sent after 401)

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None


class ApiClient:
    """The process's HTTP client for the platform, shared by every delivery."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        auth: TokenSource,
        limiter: RateLimiter,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.client = client
        self.auth = auth
        self.limiter = limiter
        self._sleep = sleep

    @staticmethod
    def build_client(
        base_url: str,
        *,
        timeout: float,
        connect_timeout: float,
        max_connections: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> httpx.AsyncClient:
        """The single ``httpx.AsyncClient``: every request has a timeout, the pool is bounded."""
        return httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "wrapup-bridge"},
        )

    @staticmethod
    def token_source(
        client: httpx.AsyncClient,
        *,
        static_token: str | None,
        token_url: str | None,
        client_id: str | None,
        client_secret: str | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> TokenSource:
        """OAuth2 client credentials when configured, else the static token (or none)."""
        if client_id and client_secret:
            return ClientCredentials(
                client, token_url or "/oauth/token", client_id, client_secret, clock=clock
            )
        return StaticToken(static_token)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def send(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        cancelled: asyncio.Event | None = None,
    ) -> Exchange:
        """Send one request (re-sent once after a 401 when a token refresh can help)."""
        exchange = await self._send_once(endpoint, method, path, content, cancelled)
        if exchange.status == 401 and self.auth.refreshable:
            metrics.RETRIES.labels(reason="unauthorized").inc()
            log.info("%s request got 401: refreshing the access token once", endpoint)
            again = await self._send_once(endpoint, method, path, content, cancelled)
            exchange = replace(again, sent=again.sent + 1)
        return exchange

    async def _send_once(
        self,
        endpoint: str,
        method: str,
        path: str,
        content: bytes | None,
        cancelled: asyncio.Event | None,
    ) -> Exchange:
        reservation = self.limiter.reserve()
        if reservation.delay > 0:
            metrics.RATE_LIMIT_WAITS.labels(source=reservation.source).inc()
            metrics.RATE_LIMIT_WAIT_SECONDS.labels(source=reservation.source).inc(
                reservation.delay
            )
            if not await wait(self._sleep, reservation.delay, cancelled):
                return Exchange(error="cancelled", retryable=False, sent=0)
        try:
            token = await self.auth.token()
        except TokenError as exc:
            label = "token_unavailable" if exc.retryable else "token_rejected"
            return Exchange(error=label, retryable=exc.retryable, sent=0)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if content is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        status = "transport_error"
        try:
            response = await self.client.request(method, path, content=content, headers=headers)
            await response.aread()
            status = str(response.status_code)
        except httpx.TimeoutException:
            status = "timeout"
            return Exchange(error=status)
        except httpx.ConnectError:
            status = "connect_error"
            return Exchange(error=status)
        except httpx.TransportError:
            return Exchange(error=status)
        finally:
            record_request(endpoint, status, time.perf_counter() - started)
        if response.status_code == 401:
            self.auth.invalidate(token)
        return Exchange(response=response)


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
