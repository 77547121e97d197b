"""One HTTP exchange with the platform API: auth flow, rate limit, timeout, metrics.

:class:`ApiClient` owns the process's single ``httpx.AsyncClient`` (explicit connect /
read / write / pool timeouts and a bounded connection pool). Each :meth:`ApiClient.send`
sends one request through the auth flow (which re-sends once after a 401 when a token
refresh can help, :mod:`.bearer`) and the client's hooks (rate limiter and metrics,
:mod:`.pacing`). Transport and token-endpoint failures come back as an :class:`Exchange`
with ``error`` set, never as an exception, so the caller's retry logic sees one shape.
A wait for the limiter ends early when the caller's ``cancelled`` event is set.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from streams.delivery.auth import TokenError
from streams.delivery.pacing import (
    CONTEXT,
    Pacing,
    RequestCancelled,
    RequestContext,
    RequestDeferred,
)
from streams.delivery.ratelimit import RateLimiter
from streams.platforms.base import ApiAuth, ApiRequest


@dataclass(frozen=True, slots=True)
class Exchange:
    """The result of one request: a response, or an error label (never both)."""

    response: httpx.Response | None = None
    error: str | None = None  # timeout, connect_error, transport_error, token_*, cancelled,
    # deferred
    retryable: bool = True
    sent: int = 1  # requests actually issued (0: stopped before sending; 2: re-sent after 401)

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None


class ApiClient:
    """The process's HTTP client for the platform, shared by every delivery."""

    def __init__(self, client: httpx.AsyncClient, auth: ApiAuth, limiter: RateLimiter) -> None:
        self.client = client
        self.auth = auth
        self.limiter = limiter

    @staticmethod
    def build_client(
        base_url: str,
        *,
        timeout: float,
        connect_timeout: float,
        max_connections: int,
        pacing: Pacing,
        transport: httpx.AsyncBaseTransport | None = None,
        ca_file: str | None = None,
    ) -> httpx.AsyncClient:
        """The single ``httpx.AsyncClient``: every request has a timeout, the pool is bounded,
        and every API request is paced and counted (``pacing``'s hooks).

        TLS is always verified: against ``ca_file`` (WRAPUP_API_CA_FILE) when given, else
        the system's CAs. The standard proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)
        are honoured (``trust_env``); the settings refuse a proxy scheme httpx cannot use.
        """
        verify: ssl.SSLContext | bool = (ssl.create_default_context(cafile=ca_file)
                                         if ca_file else True)
        return httpx.AsyncClient(
            base_url=base_url,
            verify=verify,
            trust_env=True,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "wrapup-bridge"},
            event_hooks=pacing.hooks(),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def send(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        cancelled: asyncio.Event | None = None,
        max_wait: float | None = None,
        booked_at: float | None = None,
    ) -> Exchange:
        """Send one request; ``endpoint`` labels its metrics (wrapup, interaction).
        ``max_wait``: not sent (error ``deferred``) if the limiter would hold it longer;
        ``booked_at``: the limiter slot booked for it earlier (:meth:`RateLimiter.book`)."""
        ctx = RequestContext(endpoint, cancelled, max_wait=max_wait, booked_at=booked_at)
        request = self.client.build_request(
            method, path, content=content, headers=headers, extensions={CONTEXT: ctx}
        )
        error = "transport_error"
        try:
            response = await self.client.send(request, auth=self.auth)
        except RequestCancelled:
            return Exchange(error="cancelled", retryable=False, sent=ctx.sent)
        except RequestDeferred:
            return Exchange(error="deferred", sent=ctx.sent)
        except TokenError as exc:
            label = "token_unavailable" if exc.retryable else "token_rejected"
            return Exchange(error=label, retryable=exc.retryable, sent=ctx.sent)
        except httpx.TransportError as exc:
            error = _transport_error(exc)
            return Exchange(error=error, sent=ctx.sent)
        finally:
            ctx.failed(error)  # a send still in flight ended without a response
        return Exchange(response=response, sent=ctx.sent)

    async def request(
        self, request: ApiRequest, *, cancelled: asyncio.Event | None = None,
        max_wait: float | None = None, booked_at: float | None = None,
    ) -> Exchange:
        """Send a request the platform seam built (see :meth:`send`)."""
        return await self.send(request.endpoint, request.method, request.path,
                               content=request.content, headers=dict(request.headers),
                               cancelled=cancelled, max_wait=max_wait, booked_at=booked_at)


def _transport_error(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect_error"
    return "transport_error"
