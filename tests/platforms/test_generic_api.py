"""The generic dialect's API side: requests, answer classification, read-back, auth."""

from __future__ import annotations

import base64

import httpx
import orjson
import pytest

from streams.config import Settings
from streams.delivery.auth import ClientCredentials, StaticToken
from streams.delivery.bearer import BearerAuth
from streams.platforms import Answer, Conflict, Leg, Verdict, WrapupView
from streams.platforms.generic import Credentials, GenericApi, Templates, build
from streams.platforms.generic.answers import NOT_READY_MESSAGE, classify_conflict
from streams.policy import WrapupCode

CODE = WrapupCode("wc-renewal", "Renewal - auto")
SECRET = "generic-SECRET-value"
POLICY = '{"rules": [{"queue": "q", "code": {"id": "c", "label": "l"}}]}'


def api(**env: str) -> GenericApi:
    settings = Settings.from_env({"WRAPUP_POLICY_JSON": POLICY, **env})
    generic = build(settings).api
    assert isinstance(generic, GenericApi)
    return generic


def json_response(status: int, doc: object) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(doc))


def test_the_wrapup_request_is_the_templated_json_post() -> None:
    request = api().wrapup_request(Leg("int-1"), CODE)
    assert (request.endpoint, request.method, request.path) == (
        "wrapup", "POST", "/api/v2/conversations/interactions/int-1/wrapup")
    assert dict(request.headers) == {"Content-Type": "application/json"}
    assert request.content is not None
    assert orjson.loads(request.content) == {"wrapupCode": {"id": CODE.id, "label": CODE.label}}


def test_the_readback_request_is_a_get_of_the_interaction() -> None:
    request = api().readback_request(Leg("a:b/c?d"))
    assert (request.endpoint, request.method, request.content) == ("interaction", "GET", None)
    assert request.path == "/api/v2/conversations/interactions/a%3Ab%2Fc%3Fd"


def test_paths_and_body_follow_the_configured_templates() -> None:
    custom = api(WRAPUP_API_WRAPUP_PATH="/w/{interactionId}/set",
                 WRAPUP_API_INTERACTION_PATH="/w/{interactionId}",
                 WRAPUP_API_BODY_TEMPLATE='{"code": "{codeId}"}')
    request = custom.wrapup_request(Leg("x"), CODE)
    assert request.path == "/w/x/set" and request.content == b'{"code":"wc-renewal"}'
    assert custom.readback_request(Leg("x")).path == "/w/x"


@pytest.mark.parametrize(("response", "expected"), [
    (httpx.Response(200), Answer(Verdict.APPLIED, "posted")),
    (httpx.Response(202, content=b"{}"), Answer(Verdict.APPLIED, "posted")),
    (json_response(409, {"message": NOT_READY_MESSAGE}),
     Answer(Verdict.NOT_READY, "not_ready", Conflict.NOT_READY)),
    (json_response(409, {"message": "The interaction has already been wrapped up."}),
     Answer(Verdict.READ_BACK, "already_wrapped", Conflict.ALREADY_WRAPPED)),
    (json_response(409, {"message": "Conflict"}),
     Answer(Verdict.READ_BACK, "other", Conflict.OTHER)),
    (httpx.Response(429, headers={"Retry-After": "7"}),
     Answer(Verdict.RATE_LIMITED, "rate_limited", retry_after=7.0)),
    (httpx.Response(503), Answer(Verdict.TRANSIENT, "server_error")),
    (httpx.Response(401), Answer(Verdict.UNAUTHORIZED, "unauthorized")),
    (httpx.Response(403), Answer(Verdict.PERMANENT, "forbidden")),
    (httpx.Response(422), Answer(Verdict.PERMANENT, "client_error")),
])
def test_classify(response: httpx.Response, expected: Answer) -> None:
    assert api().classify(response, now=0.0) == expected


@pytest.mark.parametrize(("body", "conflict"), [
    (orjson.dumps({"message": NOT_READY_MESSAGE}), Conflict.NOT_READY),
    (orjson.dumps({"message": NOT_READY_MESSAGE, "code": "bad.state"}), Conflict.NOT_READY),
    (NOT_READY_MESSAGE.encode(), Conflict.NOT_READY),
    (orjson.dumps({"message": "Interaction already wrapped up"}), Conflict.ALREADY_WRAPPED),
    (orjson.dumps({"message": "Conflict", "code": "wrapup.already.set"}),
     Conflict.ALREADY_WRAPPED),
    (orjson.dumps({"message": "Conflict"}), Conflict.OTHER),
    (b"", Conflict.OTHER),
    (b"\xff\xfe", Conflict.OTHER),
])
def test_classify_conflict(body: bytes, conflict: Conflict) -> None:
    assert classify_conflict(body) is conflict


@pytest.mark.parametrize(("doc", "expected"), [
    ({"state": "wrapping-up"}, WrapupView(False, None, True, "wrapping-up")),
    ({"state": "ended"}, WrapupView(False, None, False, "ended")),
    ({"state": "wrapped", "wrapupCode": {"id": "c"}}, WrapupView(True, "c", False, "wrapped")),
    ({"status": "wrapped"}, WrapupView(True, None, False, "wrapped")),
    ({"wrapup": {"code": {"id": "c"}}}, WrapupView(True, "c", False, None)),
    ({"wrapup": {"code": "c"}}, WrapupView(True, "c", False, None)),
    ({"wrapupCodeId": "c"}, WrapupView(True, "c", False, None)),
    ({"state": 3, "wrapupCode": None}, WrapupView(False, None, False, None)),
    ([1, 2], None),
    ("wrapped", None),
])
def test_parse_readback(doc: object, expected: WrapupView | None) -> None:
    assert api().parse_readback(json_response(200, doc)) == expected


@pytest.mark.parametrize("response", [
    httpx.Response(200, content=b"not json"),
    json_response(404, {"state": "wrapped", "wrapupCode": {"id": "c"}}),
    json_response(503, {"state": "wrapped"}),
])
def test_only_a_2xx_json_object_is_a_readback(response: httpx.Response) -> None:
    assert api().parse_readback(response) is None


def test_templates_reject_bad_config() -> None:
    with pytest.raises(ValueError, match="interactionId"):
        Templates("/x", "/y/{interactionId}", "{}")
    with pytest.raises(ValueError, match="JSON"):
        Templates("/{interactionId}", "/{interactionId}", '{"id": {codeId}}')


def test_template_values_cannot_change_the_body_shape() -> None:
    t = Templates("/{interactionId}", "/{interactionId}",
                  '{"codes": ["{codeId}", "{codeLabel}"], "{codeId}": true}')
    assert t.body(WrapupCode('a"b', "l\\n")) == {"codes": ['a"b', "l\\n"], 'a"b': True}


async def test_auth_is_oauth_when_both_halves_are_configured() -> None:
    minted: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            minted.append(request)
            return json_response(200, {"access_token": "tok-1", "expires_in": 60})
        return httpx.Response(200)

    generic = api(WRAPUP_OAUTH_CLIENT_ID="bridge", WRAPUP_OAUTH_CLIENT_SECRET=SECRET,
                  WRAPUP_OAUTH_TOKEN_URL="/oauth/token")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler),
                                 base_url="http://t") as client:
        auth = generic.auth(client, clock=lambda: 0.0)
        assert isinstance(auth, BearerAuth) and isinstance(auth.source, ClientCredentials)
        assert auth.refreshable
        response = await client.get("/x", auth=auth)
    assert response.request.headers["authorization"] == "Bearer tok-1"
    (token,) = minted
    expected = base64.b64encode(f"bridge:{SECRET}".encode()).decode()
    assert token.headers["authorization"] == f"Basic {expected}"


@pytest.mark.parametrize(("env", "header"), [
    ({"WRAPUP_API_TOKEN": "static-tok"}, "Bearer static-tok"),
    ({}, None),
])
async def test_auth_is_the_static_token_otherwise(env: dict[str, str], header: str | None) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)),
                                 base_url="http://t") as client:
        auth = api(**env).auth(client, clock=lambda: 0.0)
        assert isinstance(auth, BearerAuth) and isinstance(auth.source, StaticToken)
        assert not auth.refreshable
        response = await client.get("/x", auth=auth)
    assert response.request.headers.get("authorization") == header


def test_reprs_hide_credentials() -> None:
    credentials = Credentials("/t", "id", SECRET, "static-SECRET")
    for text in (repr(credentials), repr(GenericApi(Templates("/{interactionId}",
                                                              "/{interactionId}", "{}"),
                                                    credentials))):
        assert SECRET not in text and "static-SECRET" not in text
