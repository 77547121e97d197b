"""CXone's auth flow: access-key token, API discovery, refresh, retargeting (MockTransport)."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import orjson
import pytest

from streams.delivery.auth import TokenError
from streams.platforms.cxone import AccessKey, AccessKeySession, CxoneAuth
from streams.platforms.cxone.auth import retarget, tenant_of
from tests.platforms.cxone.fixtures import SECRETS, doc

ISSUER = "https://cxone.example.test"
TENANT = "11e85da0-f32c-7e10-898c-0242ac110003"
KEY = AccessKey(ISSUER, "client-1", SECRETS[0], "AK-1", SECRETS[1])
API_PATH = "/InContactAPI/services/V27.0/contacts/500001/disposition"


class Platform:
    """A fake CXone: token, discovery and the API, counting what it was asked."""

    def __init__(self) -> None:
        self.tokens: list[httpx.Request] = []
        self.discoveries: list[httpx.Request] = []
        self.api: list[httpx.Request] = []
        self.bearers: list[str] = []  # as sent (a re-sent request is the same object)
        self.token_status = 200
        self.discovery_status = 200
        self.expires_in = 3600
        self.revoked: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            self.tokens.append(request)
            body = dict(doc("token-response.json"), access_token=f"tok-{len(self.tokens)}",
                        expires_in=self.expires_in)
            return httpx.Response(self.token_status, content=orjson.dumps(body))
        if request.url.path == "/.well-known/cxone-configuration":
            self.discoveries.append(request)
            body = dict(doc("cxone-configuration.json"),
                        api_endpoint="https://api-na1.example.test/base")
            return httpx.Response(self.discovery_status, content=orjson.dumps(body))
        self.api.append(request)
        self.bearers.append(request.headers.get("Authorization", ""))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return httpx.Response(401 if token in self.revoked else 200)


def client(platform: Platform) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url="http://127.0.0.1:8080/ignored",
                             transport=httpx.MockTransport(platform))


def flow(http: httpx.AsyncClient, *, key: AccessKey = KEY,
         clock: Callable[[], float] = lambda: 0.0) -> CxoneAuth:
    return CxoneAuth(AccessKeySession(http, key, clock=clock), http.base_url)


async def test_token_then_discovery_then_the_request_goes_to_the_tenants_host() -> None:
    platform = Platform()
    async with client(platform) as http:
        auth = flow(http)
        response = await http.get(API_PATH, params={"a": "1"}, auth=auth)
    assert response.status_code == 200 and auth.refreshable
    (token,) = platform.tokens
    assert token.url == httpx.URL(ISSUER + "/auth/token")
    assert token.headers["Authorization"] == "Basic " + base64.b64encode(
        f"client-1:{SECRETS[0]}".encode()).decode()
    assert parse_qs(token.content.decode()) == {
        "grant_type": ["password"], "username": ["AK-1"], "password": [SECRETS[1]]}
    (discovery,) = platform.discoveries
    assert discovery.url.params["tenantId"] == TENANT  # the id_token's claim
    (sent,) = platform.api
    assert sent.url == httpx.URL(f"https://api-na1.example.test/base{API_PATH}?a=1")
    assert sent.headers["Host"] == "api-na1.example.test"
    assert sent.headers["Authorization"] == "Bearer tok-1"


async def test_a_configured_tenant_is_used_and_the_token_reused_until_80_percent() -> None:
    platform = Platform()
    platform.expires_in = 100
    now = [0.0]
    async with client(platform) as http:
        auth = flow(http, key=AccessKey(ISSUER, "c", "s", "k", "ks", tenant_id="t-9"),
                    clock=lambda: now[0])
        await http.get(API_PATH, auth=auth)
        now[0] = 79.0
        await http.get(API_PATH, auth=auth)
        assert len(platform.tokens) == 1
        now[0] = 81.0
        await http.get(API_PATH, auth=auth)
    assert len(platform.tokens) == 2 and len(platform.discoveries) == 1
    assert platform.discoveries[0].url.params["tenantId"] == "t-9"
    assert platform.bearers == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


async def test_a_401_refreshes_the_token_once_and_resends() -> None:
    platform = Platform()
    async with client(platform) as http:
        auth = flow(http)
        await http.get(API_PATH, auth=auth)
        platform.revoked.add("tok-1")
        response = await http.get(API_PATH, auth=auth)
        assert response.status_code == 200
        platform.revoked.add("tok-2")
        platform.revoked.add("tok-3")
        response = await http.get(API_PATH, auth=auth)  # still 401 after one refresh
    assert response.status_code == 401
    assert platform.bearers == [
        "Bearer tok-1", "Bearer tok-1", "Bearer tok-2", "Bearer tok-2", "Bearer tok-3"]
    assert all(r.url.host == "api-na1.example.test" for r in platform.api)
    assert len(platform.discoveries) == 1


async def test_a_burst_costs_one_token_and_one_discovery() -> None:
    platform = Platform()
    async with client(platform) as http:
        auth = flow(http)
        answers = await asyncio.gather(*(http.get(API_PATH, auth=auth) for _ in range(20)))
    assert {a.status_code for a in answers} == {200}
    assert (len(platform.tokens), len(platform.discoveries), len(platform.api)) == (1, 1, 20)


@pytest.mark.parametrize(("token", "discovery", "reason", "retryable"), [
    (503, 200, "unavailable", True),
    (429, 200, "unavailable", True),
    (401, 200, "rejected", False),
    (200, 503, "unavailable", True),
    (200, 404, "rejected", False),
])
async def test_failed_steps_are_token_errors(token: int, discovery: int, reason: str,
                                             retryable: bool,
                                             caplog: pytest.LogCaptureFixture) -> None:
    platform = Platform()
    platform.token_status, platform.discovery_status = token, discovery
    caplog.set_level(logging.DEBUG)
    async with client(platform) as http:
        auth = flow(http)
        with pytest.raises(TokenError) as caught:
            await http.get(API_PATH, auth=auth)
        assert (caught.value.reason, caught.value.retryable) == (reason, retryable)
        assert platform.api == []
        platform.token_status = platform.discovery_status = 200
        assert (await http.get(API_PATH, auth=auth)).status_code == 200  # tried again
    text = caplog.text + str(caught.value)
    assert not any(secret in text for secret in SECRETS) and "tok-" not in text


async def test_no_tenant_anywhere_is_a_permanent_token_error() -> None:
    platform = Platform()

    def no_id_token(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(200, content=b'{"access_token": "t", "expires_in": 60}')
        return platform(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(no_id_token)) as http:
        with pytest.raises(TokenError) as caught:
            await http.get("http://x" + API_PATH, auth=flow(http))
    assert (caught.value.reason, caught.value.retryable) == ("no_tenant", False)


@pytest.mark.parametrize("endpoint", [None, "", "not a url", "ftp://x", 7])
async def test_a_discovery_without_a_usable_api_endpoint_is_retryable(endpoint: object) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(200, content=orjson.dumps(doc("token-response.json")))
        return httpx.Response(200, content=orjson.dumps({"api_endpoint": endpoint}))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(TokenError) as caught:
            await http.get("http://x" + API_PATH, auth=flow(http))
    assert caught.value.reason == "malformed_discovery" and caught.value.retryable


@pytest.mark.parametrize(("token", "tenant"), [
    (doc("token-response.json")["id_token"], TENANT),
    ("a.b.c", None), ("a.%%%.c", None), ("only-one-part", None), (None, None), ("", None),
    ("x." + base64.urlsafe_b64encode(b'{"tenantId": 3}').decode() + ".y", None),
    ("x." + base64.urlsafe_b64encode(b"[1]").decode() + ".y", None),
])
def test_tenant_of(token: str | None, tenant: str | None) -> None:
    assert tenant_of(token) == tenant


@pytest.mark.parametrize(("base", "path", "endpoint", "expected"), [
    ("http://h:1", "/A/b%2Fc?x=1", "https://api.t", "https://api.t/A/b%2Fc?x=1"),
    ("http://h:1/pre", "/A", "https://api.t/v/", "https://api.t/v/A"),
    ("http://h:1/", "/A", "https://api.t:8443", "https://api.t:8443/A"),
])
def test_retarget_keeps_the_path_below_the_base(base: str, path: str, endpoint: str,
                                                expected: str) -> None:
    http = httpx.AsyncClient(base_url=base)
    request = http.build_request("GET", path)
    retarget(request, http.base_url.raw_path.rstrip(b"/"), httpx.URL(endpoint))
    assert str(request.url) == expected
    assert request.headers["Host"] == httpx.URL(endpoint).netloc.decode()


def test_no_secret_in_a_repr() -> None:
    http = httpx.AsyncClient()
    shown = repr(flow(http)) + repr(KEY)
    assert not any(secret in shown for secret in SECRETS)
