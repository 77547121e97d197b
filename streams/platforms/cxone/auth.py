"""CXone's auth flow: an access key's token, the tenant's API host, both renewed as needed.

Two steps, as CXone's back-end applications authenticate (public sources: the developer
portal's "API Authentication and Authorization" and App Registration pages; the agent
SDK's ``cxone-auth.js`` ``getCXoneConfiguration`` and ``cxone-configuration.js``):

1. ``POST {issuer}/auth/token`` with the registered application's client ID and secret
   in an HTTP Basic header (``client_secret_basic``) and the **password grant** in the
   form body: ``grant_type=password&username=<access key ID>&password=<access key
   secret>``. The answer holds ``access_token``, ``expires_in`` and an ``id_token``
   whose ``tenantId`` claim names the tenant.
2. ``GET {issuer}/.well-known/cxone-configuration?tenantId=<tenant>``: its
   ``api_endpoint`` is the tenant's API host (``https://api-<area>.niceincontact.com``).

:class:`AccessKeySession` does both once, caches them and fetches a new token once 80 %
of its lifetime has passed, or after a 401 (single flight: a burst of requests or of
401s costs one fetch). The discovery is made once per process (the endpoint is the
tenant's, it does not move with tokens) and again only if it failed. The id_token is
read, not verified: it comes over TLS from the issuer and only picks the tenant for the
discovery (set ``WRAPUP_CXONE_TENANT_ID`` to skip it).

:class:`CxoneAuth` is :class:`~streams.delivery.bearer.BearerAuth` (attach the token; one
refresh and re-send per 401) that first points each request at the discovered host:
requests are built relative to the API client's base URL, so the tenant's host is known
only here. Both steps are counted as ``endpoint="token"`` requests. No secret or token
is ever put in a log record, an exception message or a ``repr``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from streams import metrics
from streams.delivery.auth import DEFAULT_EXPIRES_IN, REFRESH_FRACTION, TokenError
from streams.delivery.bearer import BearerAuth
from streams.delivery.telemetry import record_request

log = logging.getLogger(__name__)

TOKEN_PATH = "/auth/token"
DISCOVERY_PATH = "/.well-known/cxone-configuration"


@dataclass(frozen=True, slots=True)
class AccessKey:
    """What the two steps need (from ``WRAPUP_CXONE_*``)."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    access_key_id: str
    access_key_secret: str = field(repr=False)
    tenant_id: str | None = None


class AccessKeySession:
    """A token source (:class:`~streams.delivery.auth.TokenSource`) that also knows the
    tenant's API endpoint."""

    refreshable = True

    def __init__(self, client: httpx.AsyncClient, key: AccessKey, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._key = key
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._endpoint: httpx.URL | None = None
        self._pending: asyncio.Future[str] | None = None

    def __repr__(self) -> str:
        return f"AccessKeySession(issuer={self._key.issuer!r}, client_id={self._key.client_id!r})"

    async def token(self) -> str:
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._fetch())
            self._pending.add_done_callback(self._fetched)
        # shield: one caller being cancelled must not cancel the fetch the others await
        return await asyncio.shield(self._pending)

    async def api_endpoint(self) -> httpx.URL:
        """The tenant's API base URL (fetching a token and discovering it if need be)."""
        if self._endpoint is None:
            await self.token()
        assert self._endpoint is not None
        return self._endpoint

    def invalidate(self, token: str | None) -> None:
        if token is not None and token == self._token:
            self._token = None

    def _fetched(self, fut: asyncio.Future[str]) -> None:
        self._pending = None
        if not fut.cancelled():
            fut.exception()  # retrieved here so an unawaited failure is not reported

    async def _fetch(self) -> str:
        try:
            token, expires_in, id_token = await self._grant()
            if self._endpoint is None:
                tenant = self._key.tenant_id or tenant_of(id_token)
                if tenant is None:
                    raise TokenError("no_tenant", None, retryable=False)
                self._endpoint = await self._discover(tenant)
                log.info("CXone API endpoint discovered: %s", self._endpoint)
        except TokenError as exc:
            metrics.TOKEN_REFRESHES.labels(result="error").inc()
            log.warning("CXone token request failed: %s", exc)
            raise
        self._token = token
        self._refresh_at = self._clock() + REFRESH_FRACTION * expires_in
        metrics.TOKEN_REFRESHES.labels(result="ok").inc()
        log.info("fetched a CXone access token (expires in %.0fs)", expires_in)
        return token

    async def _grant(self) -> tuple[str, float, str | None]:
        key = self._key
        form = {"grant_type": "password", "username": key.access_key_id,
                "password": key.access_key_secret}
        response = await self._call("POST", key.issuer + TOKEN_PATH, data=form,
                                    auth=httpx.BasicAuth(key.client_id, key.client_secret))
        doc = _json(response)
        token = doc.get("access_token")
        if not isinstance(token, str) or not token:
            raise TokenError("malformed_response", response.status_code, retryable=True)
        token_type = doc.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise TokenError("unsupported_token_type", response.status_code, retryable=False)
        expires_in = doc.get("expires_in", DEFAULT_EXPIRES_IN)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            expires_in = DEFAULT_EXPIRES_IN
        id_token = doc.get("id_token")
        return token, max(0.0, float(expires_in)), id_token if isinstance(id_token, str) else None

    async def _discover(self, tenant: str) -> httpx.URL:
        response = await self._call("GET", self._key.issuer + DISCOVERY_PATH,
                                    params={"tenantId": tenant})
        endpoint = _json(response).get("api_endpoint")
        try:
            url = httpx.URL(endpoint) if isinstance(endpoint, str) else None
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            raise TokenError("malformed_discovery", response.status_code, retryable=True)
        return url

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One auth-step request; transport trouble and error statuses as TokenError."""
        started = time.perf_counter()
        status = "transport_error"
        try:
            response = await self._client.request(method, url, **kwargs)
            status = str(response.status_code)
        except httpx.TimeoutException:
            status = "timeout"
            raise TokenError("timeout", None, retryable=True) from None
        except httpx.TransportError:
            raise TokenError("transport_error", None, retryable=True) from None
        finally:
            record_request("token", status, time.perf_counter() - started)
        if response.status_code >= 500 or response.status_code == 429:
            raise TokenError("unavailable", response.status_code, retryable=True)
        if response.status_code >= 300:
            raise TokenError("rejected", response.status_code, retryable=False)
        return response


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        doc = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict):
        raise TokenError("malformed_response", response.status_code, retryable=True)
    return doc


def tenant_of(id_token: str | None) -> str | None:
    """The ``tenantId`` claim of a JWT's payload (not verified: see the module docstring)."""
    if not id_token or id_token.count(".") != 2:
        return None
    payload = id_token.split(".")[1]
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    tenant = claims.get("tenantId") if isinstance(claims, dict) else None
    return tenant if isinstance(tenant, str) and tenant else None


class CxoneAuth(BearerAuth):
    """Bearer auth whose requests go to the tenant's discovered API host."""

    def __init__(self, session: AccessKeySession, base_url: httpx.URL) -> None:
        super().__init__(session)
        self.session = session
        self._base_path = base_url.raw_path.rstrip(b"/")

    def __repr__(self) -> str:
        return f"CxoneAuth({self.session!r})"

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        retarget(request, self._base_path, await self.session.api_endpoint())
        flow = super().async_auth_flow(request)
        outgoing = await flow.__anext__()
        while True:
            response = yield outgoing
            try:
                outgoing = await flow.asend(response)
            except StopAsyncIteration:
                return


def retarget(request: httpx.Request, base_path: bytes, endpoint: httpx.URL) -> None:
    """Point ``request`` (built against a base URL whose path is ``base_path``) at
    ``endpoint``, keeping its path below the base and its query."""
    raw = request.url.raw_path
    if base_path and raw.startswith(base_path + b"/"):
        raw = raw[len(base_path):]
    request.url = endpoint.copy_with(raw_path=endpoint.raw_path.rstrip(b"/") + raw)
    request.headers["Host"] = request.url.netloc.decode("ascii")
