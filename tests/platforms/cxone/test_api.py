"""CXone's API side: the disposition POST, the read-back, and what answers mean."""

from __future__ import annotations

import httpx
import orjson
import pytest

from streams.platforms import Answer, Conflict, Leg, Verdict, WrapupView
from streams.platforms.base import reads_before_write
from streams.platforms.cxone import CxoneApi, build
from streams.policy import WrapupCode
from tests.platforms.cxone.fixtures import doc, settings

CODE = WrapupCode("7001", "Renewal - auto")
LEG = Leg("500001", communication_id="58070815")


def api(**env: str) -> CxoneApi:
    platform = build(settings(**env))
    assert isinstance(platform.api, CxoneApi) and reads_before_write(platform.api)
    return platform.api


def json_response(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(body))


def test_the_disposition_is_posted_in_the_agent_session() -> None:
    request = api().wrapup_request(LEG, CODE)
    assert (request.endpoint, request.method) == ("wrapup", "POST")
    assert request.path == ("/InContactAPI/services/v27.0/agent-sessions/58070815"
                            "/interactions/500001/disposition")
    assert request.content is not None
    assert orjson.loads(request.content) == {"primaryDispositionId": 7001}
    assert dict(request.headers) == {"Content-Type": "application/json"}


def test_notes_go_with_the_disposition_when_configured() -> None:
    request = api(WRAPUP_CXONE_NOTES="set by wrapup-bridge").wrapup_request(LEG, CODE)
    assert request.content is not None
    assert orjson.loads(request.content) == {"primaryDispositionId": 7001,
                                             "primaryDispositionNotes": "set by wrapup-bridge"}


def test_ids_are_percent_encoded_into_the_path() -> None:
    request = api().wrapup_request(Leg("a:b", communication_id="s.1"), CODE)
    assert request.path.endswith("/agent-sessions/s.1/interactions/a%3Ab/disposition")


def test_without_a_session_or_a_numeric_code_there_is_no_request() -> None:
    with pytest.raises(ValueError, match="no agent session"):
        api().wrapup_request(Leg("500001"), CODE)
    with pytest.raises(ValueError, match="not a CXone disposition ID"):
        api().wrapup_request(LEG, WrapupCode("wc-renewal", "Renewal"))


def test_the_readback_reads_the_contacts_saved_disposition() -> None:
    request = api().readback_request(LEG)
    assert (request.endpoint, request.method, request.content) == ("interaction", "GET", None)
    assert request.path == "/InContactAPI/services/V27.0/contacts/500001/disposition"


@pytest.mark.parametrize(("response", "expected"), [
    (httpx.Response(200), Answer(Verdict.APPLIED, "posted")),
    (httpx.Response(202, content=b"{}"), Answer(Verdict.APPLIED, "posted")),
    (httpx.Response(400), Answer(Verdict.READ_BACK, "refused_unexplained")),
    (httpx.Response(404), Answer(Verdict.READ_BACK, "refused_unexplained")),
    (httpx.Response(422), Answer(Verdict.READ_BACK, "refused_unexplained")),
    (json_response(409, {"error": "anything"}), Answer(Verdict.READ_BACK, "other", Conflict.OTHER)),
    (httpx.Response(429, headers={"Retry-After": "7"}),
     Answer(Verdict.RATE_LIMITED, "rate_limited", retry_after=7.0)),
    (httpx.Response(429, headers={"Retry-After": "Wed, 25 Nov 2026 10:00:09 GMT"}),
     Answer(Verdict.RATE_LIMITED, "rate_limited", retry_after=9.0)),
    (httpx.Response(503), Answer(Verdict.TRANSIENT, "server_error")),
    (httpx.Response(401), Answer(Verdict.UNAUTHORIZED, "unauthorized")),
    (httpx.Response(403), Answer(Verdict.PERMANENT, "forbidden")),
])
def test_classify(response: httpx.Response, expected: Answer) -> None:
    now = 1_795_600_800.0  # Wed, 25 Nov 2026 10:00:00 GMT
    assert api().classify(response, now=now) == expected


def test_the_saved_disposition_is_the_view() -> None:
    view = api().parse_readback(json_response(200, doc("saved-disposition.json")))
    assert view == WrapupView(True, "7001", False, "Renewal - auto")


@pytest.mark.parametrize(("response", "expected"), [
    (httpx.Response(204), WrapupView(False, None, False, "no_disposition")),
    (json_response(200, {}), WrapupView(False, None, False, "no_disposition")),
    (json_response(200, {"dispositionId": 0}), WrapupView(False, None, False, "no_disposition")),
    (json_response(200, {"dispositionId": None}),
     WrapupView(False, None, False, "no_disposition")),
    (json_response(200, {"dispositionId": "42"}), WrapupView(True, "42", False, None)),
    (json_response(200, {"dispositionId": "x"}), None),
    (json_response(200, {"dispositionId": True}), None),
    (json_response(200, [1]), None),
    (httpx.Response(200, content=b"not json"), None),
    (json_response(404, {"dispositionId": 7001}), WrapupView(False, None, False, "no_disposition")),
    (json_response(503, {}), None),
])
def test_parse_readback(response: httpx.Response, expected: WrapupView | None) -> None:
    assert api().parse_readback(response) == expected
