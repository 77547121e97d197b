"""The Genesys API side: URLs and bodies, answers, read-backs, OAuth over MockTransport."""

from __future__ import annotations

import base64

import httpx
import orjson
import pytest

from streams.config import Settings
from streams.platforms import Conflict, Leg, Verdict, WrapupView, load
from streams.platforms.genesys import Endpoints, GenesysApi
from streams.platforms.genesys.api import Credentials
from streams.policy import WrapupCode
from streams.variables import ConfigError

API = "https://api.mypurecloud.ie"
CODE = WrapupCode("7fb334b0-0e9e-11e4-9191-0800200c9a66", "Renewal - auto")
CONV, PART, COMM = "conv-1", "part-a", "comm-a"
POLICY = '{"rules": [{"queue": "q", "code": {"id": "c", "label": "l"}}]}'


def api(**creds: str) -> GenesysApi:
    return GenesysApi(Endpoints(API, "https://login.mypurecloud.ie/oauth/token"),
                      Credentials(**creds) if creds else Credentials("id", "secret"))


def response(status: int, body: bytes = b"", *, url: str = f"{API}/x",
             headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers,
                          request=httpx.Request("GET", url))


def test_the_communication_wrapup_post_with_wrapup_input() -> None:
    req = api().wrapup_request(Leg(CONV, PART, COMM, "calls"), CODE)
    assert (req.endpoint, req.method) == ("wrapup", "POST")
    assert req.path == (f"{API}/api/v2/conversations/calls/{CONV}/participants/{PART}"
                        f"/communications/{COMM}/wrapup")
    assert req.content is not None
    assert orjson.loads(req.content) == {"code": CODE.id, "name": CODE.label}
    assert ("Content-Type", "application/json") in req.headers


def test_without_a_communication_the_participant_patch_carries_only_the_wrapup() -> None:
    req = api().wrapup_request(Leg(CONV, PART, None, "chats"), CODE)
    assert (req.method, req.path) == (
        "PATCH", f"{API}/api/v2/conversations/chats/{CONV}/participants/{PART}")
    assert req.content is not None
    assert orjson.loads(req.content) == {"wrapup": {"code": CODE.id, "name": CODE.label}}


def test_media_defaults_to_calls_and_a_leg_needs_a_participant() -> None:
    assert "/conversations/calls/" in api().wrapup_request(Leg(CONV, PART, COMM), CODE).path
    assert "/conversations/calls/" in api().wrapup_request(
        Leg(CONV, PART, COMM, "faxes"), CODE).path
    with pytest.raises(ValueError, match="participant"):
        api().wrapup_request(Leg(CONV), CODE)


def test_readback_requests() -> None:
    a = api()
    assert a.readback_request(Leg(CONV, PART, COMM, "calls")).path == (
        f"{API}/api/v2/conversations/calls/{CONV}/participants/{PART}/communications/{COMM}/wrapup")
    assert a.readback_request(Leg(CONV, PART, None, "emails")).path == (
        f"{API}/api/v2/conversations/emails/{CONV}/participants/{PART}/wrapup")
    probe = a.readback_request(Leg(CONV))
    assert (probe.method, probe.path) == ("GET", f"{API}/api/v2/conversations/{CONV}")


@pytest.mark.parametrize(("status", "verdict", "reason"), [
    (202, Verdict.APPLIED, "posted"),
    (204, Verdict.APPLIED, "posted"),
    (409, Verdict.READ_BACK, "other"),
    (412, Verdict.READ_BACK, "other"),
    (422, Verdict.READ_BACK, "other"),
    (400, Verdict.PERMANENT, "bad_request"),
    (403, Verdict.PERMANENT, "forbidden"),
    (404, Verdict.PERMANENT, "not_found"),
    (401, Verdict.UNAUTHORIZED, "unauthorized"),
    (503, Verdict.TRANSIENT, "server_error"),
])
def test_classify(status: int, verdict: Verdict, reason: str) -> None:
    body = orjson.dumps({"message": "whatever", "code": "some.code", "status": status,
                         "contextId": "c", "details": [], "errors": []})
    answer = api().classify(response(status, body), now=0.0)
    assert (answer.verdict, answer.reason) == (verdict, reason)
    if verdict is Verdict.READ_BACK:
        assert answer.conflict is Conflict.OTHER  # the body is not read: never guessed


def test_a_429_waits_retry_after_else_the_ratelimit_reset() -> None:
    a = api()
    headers = {"Retry-After": "3", "inin-ratelimit-count": "300",
               "inin-ratelimit-allowed": "300", "inin-ratelimit-reset": "41"}
    first = a.classify(response(429, headers=headers), now=0.0)
    assert (first.verdict, first.retry_after) == (Verdict.RATE_LIMITED, 3.0)
    del headers["Retry-After"]
    assert a.classify(response(429, headers=headers), now=0.0).retry_after == 41.0
    assert a.classify(response(429), now=0.0).retry_after is None


def test_readback_views() -> None:
    a = api()
    wrapup_url = f"{API}/api/v2/conversations/calls/c/participants/p/wrapup"
    assigned = orjson.dumps({"code": CODE.id, "notes": "n", "durationSeconds": 12,
                             "endTime": "2026-11-25T10:00:20.000Z"})
    assert a.parse_readback(response(200, assigned, url=wrapup_url)) == WrapupView(
        True, CODE.id, False, "wrapped")
    none = WrapupView(False, None, True, "no-wrapup")
    assert a.parse_readback(response(200, b"{}", url=wrapup_url)) == none
    assert a.parse_readback(response(204, url=wrapup_url)) == none
    assert a.parse_readback(response(404, b'{"code": "not.found"}', url=wrapup_url)) == none
    assert a.parse_readback(response(404, url=f"{API}/api/v2/conversations/c")) is None
    assert a.parse_readback(response(200, b"[1]", url=wrapup_url)) is None
    assert a.parse_readback(response(200, b"{x", url=wrapup_url)) is None
    assert a.parse_readback(response(500, url=wrapup_url)) is None


def test_the_conversation_readback_needs_every_agent_leg_wrapped() -> None:
    a = api()
    parts = [{"purpose": "customer"},
             {"purpose": "agent", "wrapup": {"code": "x"}},
             {"purpose": "agent", "wrapupRequired": False}]
    doc = {"id": "c", "participants": parts}
    assert a.parse_readback(response(200, orjson.dumps(doc))) == WrapupView(
        True, "x", False, "wrapped")
    parts.append({"purpose": "agent", "wrapupRequired": True})
    assert a.parse_readback(response(200, orjson.dumps(doc))) == WrapupView(
        False, None, True, "no-wrapup")


async def test_client_credentials_at_the_login_host_with_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "tok", "token_type": "bearer",
                                             "expires_in": 86399})
        return httpx.Response(202)

    a = api(client_id="my-client", client_secret="s3cret")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        req = a.wrapup_request(Leg(CONV, PART, COMM, "calls"), CODE)
        resp = await client.request(req.method, req.path, content=req.content,
                                    headers=dict(req.headers), auth=a.auth(client, clock=lambda: 0))
    assert resp.status_code == 202
    token, post = seen
    assert str(token.url) == "https://login.mypurecloud.ie/oauth/token"
    assert token.headers["Authorization"] == "Basic " + base64.b64encode(
        b"my-client:s3cret").decode()
    assert token.content == b"grant_type=client_credentials"
    assert post.url.host == "api.mypurecloud.ie"
    assert post.headers["Authorization"] == "Bearer tok"
    assert "s3cret" not in repr(a)


def _settings(**env: str) -> Settings:
    return Settings.from_env({"WRAPUP_POLICY_JSON": POLICY,
                              "WRAPUP_PLATFORM": "genesys", **env})


def test_build_from_settings() -> None:
    platform = load(_settings(WRAPUP_GENESYS_REGION="eu-west-1", WRAPUP_OAUTH_CLIENT_ID="i",
                              WRAPUP_OAUTH_CLIENT_SECRET="s"))
    assert platform.name == "genesys"
    assert isinstance(platform.api, GenesysApi)
    assert platform.api.endpoints == Endpoints("https://api.mypurecloud.ie",
                                               "https://login.mypurecloud.ie/oauth/token")
    sim = load(_settings(WRAPUP_GENESYS_API_URL="http://127.0.0.1:9/",
                         WRAPUP_GENESYS_LOGIN_URL="http://127.0.0.1:9", WRAPUP_API_TOKEN="t"))
    assert isinstance(sim.api, GenesysApi)
    assert sim.api.endpoints == Endpoints("http://127.0.0.1:9", "http://127.0.0.1:9/oauth/token")


@pytest.mark.parametrize(("env", "message"), [
    ({}, "WRAPUP_GENESYS_REGION: required"),
    ({"WRAPUP_GENESYS_REGION": "mypurecloud.moon"}, "WRAPUP_GENESYS_REGION: 'mypurecloud.moon'"),
    ({"WRAPUP_GENESYS_REGION": "usw2.pure.cloud", "WRAPUP_GENESYS_API_URL": "ftp://x"},
     "WRAPUP_GENESYS_API_URL: 'ftp://x' is not an http(s) base URL"),
    ({"WRAPUP_GENESYS_API_URL": "http://127.0.0.1:9"}, "WRAPUP_GENESYS_REGION: required"),
    ({"WRAPUP_GENESYS_REGION": "usw2.pure.cloud", "WRAPUP_OAUTH_CLIENT_ID": None},
     "WRAPUP_OAUTH_CLIENT_ID: the genesys platform needs an OAuth client"),
])
def test_bad_settings_stop_with_one_line(env: dict[str, str | None], message: str) -> None:
    base = {"WRAPUP_OAUTH_CLIENT_ID": "i", "WRAPUP_OAUTH_CLIENT_SECRET": "s"}
    merged = {k: v for k, v in {**base, **env}.items() if v is not None}
    if "WRAPUP_OAUTH_CLIENT_ID" not in merged:
        merged.pop("WRAPUP_OAUTH_CLIENT_SECRET")
    with pytest.raises(ConfigError) as info:
        load(_settings(**merged))
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
