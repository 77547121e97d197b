"""Bearer credentials for the platform API: a static token, or OAuth2 client credentials.

:class:`ClientCredentials` fetches a token with the client-credentials grant (client ID
and secret in an HTTP Basic header, ``grant_type`` in the form body: nothing secret in a
URL), caches it, and refreshes it once 80 % of ``expires_in`` has passed. Concurrent
callers share one in-flight fetch (single flight), so a burst of requests, or a burst of
401s on the same stale token, costs one token request.

Hand-rolled rather than Authlib's ``AsyncOAuth2Client`` because that is untyped, checks
expiry against the wall clock with a fixed leeway (not injectable, not a fraction of the
lifetime), has no "invalidate this token after a 401" hook, and makes each waiter retry a
failed fetch on its own; ``httpx-auth`` fetches tokens with a *synchronous* client
(blocking the event loop) and keys its cache on a URL holding the secret. The grant is one
form POST; the code below is smaller than the adapter either library would need.

No secret or token is ever put in a log record, an exception message or a ``repr``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

import httpx
import orjson

from streams import metrics
from streams.delivery.telemetry import record_request

log = logging.getLogger(__name__)

DEFAULT_EXPIRES_IN = 300.0  # when the token response carries no expires_in
REFRESH_FRACTION = 0.8  # refresh once this share of the lifetime has passed


class TokenError(Exception):
    """The token endpoint did not give us a token. Carries no secret, only a status."""

    def __init__(self, reason: str, status: int | None, *, retryable: bool) -> None:
        super().__init__(f"token request failed: {reason}" + (f" ({status})" if status else ""))
        self.reason = reason
        self.status = status
        self.retryable = retryable


class TokenSource(Protocol):
    """Where the ``Authorization`` header comes from."""

    @property
    def refreshable(self) -> bool:
        """True when a 401 can be cured by fetching a new token."""

    async def token(self) -> str | None:
        """The bearer token to send (None: send no Authorization header)."""

    def invalidate(self, token: str | None) -> None:
        """The platform rejected ``token`` (401): do not hand it out again."""


class StaticToken:
    """A fixed bearer token (or none at all); a 401 is permanent."""

    refreshable = False

    def __init__(self, token: str | None) -> None:
        self._token = token

    def __repr__(self) -> str:
        return f"StaticToken({'<redacted>' if self._token else None})"

    async def token(self) -> str | None:
        return self._token

    def invalidate(self, token: str | None) -> None:
        """Nothing to do: a static token cannot be renewed."""


class CachedToken:
    """A refreshable token source's cache: refreshed once 80 % of its lifetime has passed,
    or after :meth:`invalidate`; single flight. Subclasses fetch in :meth:`_obtain`."""

    refreshable = True
    _failed_message = "token request failed: %s"
    _fetched_message = "fetched an API access token (expires in %.0fs)"

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._pending: asyncio.Future[str] | None = None

    async def token(self) -> str:
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._fetch())
            self._pending.add_done_callback(self._fetched)
        # shield: one caller being cancelled must not cancel the fetch the others await
        return await asyncio.shield(self._pending)

    def invalidate(self, token: str | None) -> None:
        if token is not None and token == self._token:
            self._token = None

    def _fetched(self, fut: asyncio.Future[str]) -> None:
        self._pending = None
        if not fut.cancelled():
            fut.exception()  # retrieved here so an unawaited failure is not reported

    async def _fetch(self) -> str:
        try:
            token, expires_in = await self._obtain()
        except TokenError as exc:
            metrics.TOKEN_REFRESHES.labels(result="error").inc()
            log.warning(self._failed_message, exc)
            raise
        self._token = token
        self._refresh_at = self._clock() + REFRESH_FRACTION * expires_in
        metrics.TOKEN_REFRESHES.labels(result="ok").inc()
        log.info(self._fetched_message, expires_in)
        return token

    async def _obtain(self) -> tuple[str, float]:
        """A new token and its lifetime in seconds; raises :class:`TokenError`."""
        raise NotImplementedError


class ClientCredentials(CachedToken):
    """OAuth2 client-credentials tokens, cached and refreshed ahead of expiry, single flight."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(clock)
        self._client = client
        self._token_url = token_url
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._client_id = client_id

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self._client_id!r}, token_url={self._token_url!r})"

    async def _obtain(self) -> tuple[str, float]:
        started = time.perf_counter()
        status = "transport_error"
        try:
            response = await self._client.post(
                self._token_url, data={"grant_type": "client_credentials"}, auth=self._auth
            )
            status = str(response.status_code)
        except httpx.TimeoutException:
            status = "timeout"
            raise TokenError("timeout", None, retryable=True) from None
        except httpx.TransportError:
            raise TokenError("transport_error", None, retryable=True) from None
        finally:
            record_request("token", status, time.perf_counter() - started)
        return _parse(response)


def _parse(response: httpx.Response) -> tuple[str, float]:
    """The access token and its lifetime from a token response; TokenError otherwise."""
    status = response.status_code
    if status >= 500 or status == 429:
        raise TokenError("unavailable", status, retryable=True)
    if status >= 300:
        raise TokenError("rejected", status, retryable=False)
    try:
        doc = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise TokenError("malformed_response", status, retryable=True) from None
    token = doc.get("access_token") if isinstance(doc, dict) else None
    if not isinstance(token, str) or not token:
        raise TokenError("malformed_response", status, retryable=True)
    token_type = doc.get("token_type", "bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenError("unsupported_token_type", status, retryable=False)
    expires_in = doc.get("expires_in", DEFAULT_EXPIRES_IN)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        expires_in = DEFAULT_EXPIRES_IN
    return token, max(0.0, float(expires_in))
