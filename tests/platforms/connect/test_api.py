"""The Connect dialect's API side: requests, answers, read-back, settings."""

from __future__ import annotations

import httpx
import orjson
import pytest

from streams.config import ConfigError
from streams.platforms import Answer, Leg, Verdict, WrapupView, reads_before_write
from streams.platforms.connect import ConnectApi
from streams.platforms.connect.answers import error_code
from streams.policy import WrapupCode
from tests.platforms.connect.fixtures import INSTANCE, fixture, platform, response

CODE = WrapupCode("wc-sales", "Sales - auto")
CONTACT = "11111111-2222-3333-4444-555555555555"
ENDPOINT = "https://connect.us-west-2.amazonaws.com"


def api(**env: str) -> ConnectApi:
    side = platform(**env).api
    assert isinstance(side, ConnectApi)
    return side


def test_the_wrapup_request_is_update_contact_attributes() -> None:
    request = api().wrapup_request(Leg(CONTACT), CODE)
    assert (request.endpoint, request.method) == ("wrapup", "POST")
    assert request.path == f"{ENDPOINT}/contact/attributes"
    assert dict(request.headers) == {"Content-Type": "application/json"}
    assert request.content is not None
    expected = fixture("update-contact-attributes-request.json")
    del expected["_source"]
    assert orjson.loads(request.content) == expected


def test_a_transferred_leg_is_written_on_its_own_contact() -> None:
    leg = Leg(CONTACT, "22222222-3333-4444-5555-666666666666")
    body = orjson.loads(api().wrapup_request(leg, CODE).content or b"")
    assert body["InitialContactId"] == "22222222-3333-4444-5555-666666666666"
    assert api().readback_request(leg).path == (
        f"{ENDPOINT}/contact/attributes/{INSTANCE}/22222222-3333-4444-5555-666666666666")


def test_the_attribute_names_and_the_label_are_configurable() -> None:
    custom = api(WRAPUP_CONNECT_ATTRIBUTE="disposition",
                 WRAPUP_CONNECT_LABEL_ATTRIBUTE="disposition_label")
    body = orjson.loads(custom.wrapup_request(Leg(CONTACT), CODE).content or b"")
    assert body["Attributes"] == {"disposition": "wc-sales", "disposition_label": "Sales - auto"}


def test_the_readback_request_is_get_contact_attributes() -> None:
    request = api().readback_request(Leg(CONTACT))
    assert (request.endpoint, request.method, request.content) == ("interaction", "GET", None)
    assert request.path == f"{ENDPOINT}/contact/attributes/{INSTANCE}/{CONTACT}"


def test_the_endpoint_override_is_used_as_is() -> None:
    request = api(WRAPUP_CONNECT_ENDPOINT_URL="http://127.0.0.1:9999/").wrapup_request(
        Leg(CONTACT), CODE)
    assert request.path == "http://127.0.0.1:9999/contact/attributes"


def test_the_side_asks_for_a_read_before_every_write() -> None:
    assert reads_before_write(api())
    assert not reads_before_write(platform(WRAPUP_PLATFORM="generic").api)


def test_the_readback_shows_an_attribute_set_by_someone_else() -> None:
    doc = fixture("get-contact-attributes-response.json")
    view = api().parse_readback(httpx.Response(200, content=orjson.dumps(doc)))
    assert view == WrapupView(True, "wc-agent-chosen", False, "attribute set")


@pytest.mark.parametrize("body", [b'{"Attributes": {}}', b'{"Attributes": {"wrapupCode": ""}}',
                                  b'{"Attributes": null}', b"{}"])
def test_no_value_in_the_attribute_is_not_wrapped(body: bytes) -> None:
    assert api().parse_readback(httpx.Response(200, content=body)) == \
        WrapupView(False, None, True, "attribute not set")


@pytest.mark.parametrize("answer", [
    httpx.Response(200, content=b"not json"), httpx.Response(200, content=b"[]"),
    httpx.Response(200, content=b'{"Attributes": []}'), httpx.Response(404, content=b"{}"),
])
def test_a_readback_that_is_not_one_gives_no_view(answer: httpx.Response) -> None:
    assert api().parse_readback(answer) is None


def aws_error(status: int, code: str, *, header: bool = True) -> httpx.Response:
    if header:
        return httpx.Response(status, headers={"x-amzn-ErrorType": f"{code}:http://x/"},
                              content=b'{"message": "m"}')
    return httpx.Response(status, content=orjson.dumps({"__type": f"com.amazon#{code}"}))


@pytest.mark.parametrize(("answer", "expected"), [
    (httpx.Response(200), Answer(Verdict.APPLIED, "posted")),
    (response("error-throttling.json"), Answer(Verdict.RATE_LIMITED, "rate_limited")),
    (aws_error(400, "ThrottlingException", header=False),
     Answer(Verdict.RATE_LIMITED, "rate_limited")),
    (aws_error(429, "TooManyRequestsException"), Answer(Verdict.RATE_LIMITED, "rate_limited")),
    (response("error-expired-token.json"), Answer(Verdict.UNAUTHORIZED, "unauthorized")),
    (aws_error(403, "UnrecognizedClientException"), Answer(Verdict.UNAUTHORIZED, "unauthorized")),
    (aws_error(400, "RequestExpired", header=False), Answer(Verdict.UNAUTHORIZED, "unauthorized")),
    (aws_error(403, "AccessDeniedException"), Answer(Verdict.PERMANENT, "forbidden")),
    (aws_error(404, "ResourceNotFoundException"), Answer(Verdict.PERMANENT, "not_found")),
    (aws_error(400, "InvalidParameterException"), Answer(Verdict.PERMANENT, "bad_request")),
    (aws_error(400, "InvalidRequestException", header=False),
     Answer(Verdict.PERMANENT, "bad_request")),
    (aws_error(500, "InternalServiceException"), Answer(Verdict.TRANSIENT, "server_error")),
    (httpx.Response(503), Answer(Verdict.TRANSIENT, "server_error")),
])
def test_aws_errors_are_classified(answer: httpx.Response, expected: Answer) -> None:
    assert api().classify(answer, 0.0) == expected


def test_a_429_honours_a_retry_after_if_one_is_sent() -> None:
    answer = httpx.Response(429, headers={"Retry-After": "3"})
    assert api().classify(answer, 0.0) == Answer(Verdict.RATE_LIMITED, "rate_limited",
                                                 retry_after=3.0)


def test_the_error_code_is_read_as_botocore_reads_it() -> None:
    assert error_code(response("error-throttling.json")) == "ThrottlingException"
    assert error_code(aws_error(400, "X", header=False)) == "X"
    assert error_code(httpx.Response(400, content=b'{"code": "Y"}')) == "Y"
    assert error_code(httpx.Response(400, content=b"<html>")) is None


@pytest.mark.parametrize(("env", "variable"), [
    ({"WRAPUP_CONNECT_INSTANCE_ID": ""}, "WRAPUP_CONNECT_INSTANCE_ID"),
    ({"WRAPUP_CONNECT_INSTANCE_ID": "arn:aws:connect:x"}, "WRAPUP_CONNECT_INSTANCE_ID"),
    ({"WRAPUP_CONNECT_REGION": ""}, "WRAPUP_CONNECT_REGION"),
    ({"WRAPUP_CONNECT_REGION": "US West"}, "WRAPUP_CONNECT_REGION"),
    ({"WRAPUP_CONNECT_REGION": "eu-north-1"}, "WRAPUP_CONNECT_REGION"),  # no Connect there
    ({"WRAPUP_CONNECT_ENDPOINT_URL": "ftp://x"}, "WRAPUP_CONNECT_ENDPOINT_URL"),
    ({"WRAPUP_CONNECT_ATTRIBUTE": "wrap up"}, "WRAPUP_CONNECT_ATTRIBUTE"),
    ({"WRAPUP_CONNECT_LABEL_ATTRIBUTE": "wrapupCode"}, "WRAPUP_CONNECT_LABEL_ATTRIBUTE"),
])
def test_bad_settings_stop_with_one_line_naming_the_variable(env: dict[str, str],
                                                            variable: str) -> None:
    with pytest.raises(ConfigError) as raised:
        platform(**env)
    message = str(raised.value)
    assert message.startswith(f"{variable}:") and "\n" not in message


def test_a_region_botocore_does_not_list_is_accepted_with_an_endpoint() -> None:
    side = api(WRAPUP_CONNECT_REGION="eu-north-1",
               WRAPUP_CONNECT_ENDPOINT_URL="https://connect.eu-north-1.amazonaws.com")
    assert side.settings.region == "eu-north-1"


def test_the_instance_id_is_normalised_and_nothing_secret_is_shown() -> None:
    side = api(WRAPUP_CONNECT_INSTANCE_ID=INSTANCE.upper())
    assert side.settings.instance_id == INSTANCE
    assert "secret" not in repr(side).lower()
