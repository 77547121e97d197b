"""SigV4 with botocore's signer: published vectors, a re-verification, the auth flow."""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import httpx
import pytest
from botocore.auth import SigV4Auth as BotocoreSigV4
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials

from streams.delivery.auth import TokenError
from streams.platforms.connect.credentials import CredentialChain, Frozen
from streams.platforms.connect.sigv4 import SigV4Auth, sign
from tests.platforms.connect.fixtures import response

# The AWS Signature Version 4 test suite's credentials and time (get-vanilla, post-vanilla).
SUITE = Frozen("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE_AT = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
TEMPORARY = Frozen("ASIATESTKEY0000001", "test-secret-1", "test-session-token-1")


def pinned(now: datetime) -> Any:
    return mock.patch("botocore.auth.get_current_datetime", return_value=now)


@pytest.mark.parametrize(("method", "signature"), [
    ("GET", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("POST", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
])
def test_the_signature_matches_the_aws_test_suite(method: str, signature: str) -> None:
    request = httpx.Request(method, "https://example.amazonaws.com/")
    with pinned(SUITE_AT):
        sign(request, SUITE, "us-east-1", service="service")
    assert request.headers["X-Amz-Date"] == "20150830T123600Z"
    assert request.headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={signature}")
    assert "X-Amz-Security-Token" not in request.headers


def reverify(request: httpx.Request, credentials: Frozen, region: str) -> bool:
    """Recompute the signature with botocore from what the request carries (a verifier
    as a server would be: the signed headers named in Authorization, its X-Amz-Date)."""
    authorization = request.headers["Authorization"]
    fields = dict(part.strip().split("=", 1) for part in authorization[17:].split(","))
    names = fields["SignedHeaders"].split(";")
    aws = AWSRequest(method=request.method, url=str(request.url), data=request.content,
                     headers={name: request.headers[name] for name in names})
    aws.context["timestamp"] = request.headers["X-Amz-Date"]
    signer = BotocoreSigV4(ReadOnlyCredentials(*credentials), "connect", region)
    expected = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
    return hmac.compare_digest(expected, fields["Signature"])


def test_a_connect_request_verifies_and_a_tampered_one_does_not() -> None:
    request = httpx.Request("POST", "https://connect.us-west-2.amazonaws.com/contact/attributes",
                            json={"InstanceId": "i", "Attributes": {"wrapupCode": "c"}},
                            headers={"User-Agent": "wrapup-bridge", "Accept": "*/*"})
    sign(request, TEMPORARY, "us-west-2")
    assert request.headers["X-Amz-Security-Token"] == "test-session-token-1"
    assert "content-type;host;x-amz-date;x-amz-security-token" in request.headers["Authorization"]
    assert reverify(request, TEMPORARY, "us-west-2")
    assert not reverify(request, TEMPORARY._replace(secret_key="other"), "us-west-2")
    tampered = httpx.Request("POST", request.url, headers=request.headers,
                             json={"InstanceId": "i", "Attributes": {"wrapupCode": "x"}})
    assert not reverify(tampered, TEMPORARY, "us-west-2")


class Resolver:
    """A credential chain's source: hands out the next credentials at each resolution."""

    def __init__(self, *sets: Any) -> None:
        self.sets = list(sets)
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.sets.pop(0) if self.sets else None


def botocore_credentials(frozen: Frozen, method: str = "container-role") -> Credentials:
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token, method=method)


async def test_every_request_is_signed_and_an_expired_token_is_refreshed_once() -> None:
    fresh = Frozen("ASIATESTKEY0000002", "test-secret-2", "test-session-token-2")
    resolver = Resolver(botocore_credentials(TEMPORARY), botocore_credentials(fresh))
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        # a copy: the flow re-signs the same request object for the re-send
        seen.append(httpx.Request(request.method, request.url, headers=request.headers.copy(),
                                  content=request.content))
        if request.headers["X-Amz-Security-Token"] == TEMPORARY.token:
            return response("error-expired-token.json")
        return httpx.Response(200)

    auth = SigV4Auth(CredentialChain(resolver), "us-west-2")
    assert auth.refreshable
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        answer = await client.post("https://connect.us-west-2.amazonaws.com/contact/attributes",
                                   content=b"{}", auth=auth)
        assert answer.status_code == 200 and len(seen) == 2 and resolver.calls == 2
        assert reverify(seen[0], TEMPORARY, "us-west-2") and reverify(seen[1], fresh, "us-west-2")
        await client.get("https://connect.us-west-2.amazonaws.com/x", auth=auth)
        assert len(seen) == 3 and resolver.calls == 2  # cached until the next rejection


async def test_a_permission_error_is_not_retried_and_env_credentials_do_not_refresh() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        code = "AccessDeniedException" if request.url.path == "/denied" else "ExpiredToken"
        return httpx.Response(403, headers={"x-amzn-ErrorType": code})

    chain = CredentialChain(Resolver(botocore_credentials(SUITE, "env")))
    auth = SigV4Auth(chain, "us-west-2")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        assert (await client.get("https://h/denied", auth=auth)).status_code == 403
        assert calls == 1
        assert not auth.refreshable  # env credentials: resolving again gives the same
        assert (await client.get("https://h/expired", auth=auth)).status_code == 403
        assert calls == 2


async def test_no_credentials_is_a_retryable_token_error_without_a_secret() -> None:
    chain = CredentialChain(Resolver())
    with pytest.raises(TokenError) as raised:
        await chain.current()
    assert raised.value.retryable and raised.value.reason == "credentials_unavailable"


class DueCredentials:
    """Refreshable credentials whose refresh is due (as botocore's RefreshableCredentials)."""

    method = "assume-role-with-web-identity"

    def __init__(self) -> None:
        self.refreshed_in: list[str] = []

    def refresh_needed(self) -> bool:
        return True

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        import threading

        self.refreshed_in.append(threading.current_thread().name)
        return ReadOnlyCredentials(*TEMPORARY)


async def test_a_due_refresh_runs_off_the_event_loop_once_for_concurrent_callers() -> None:
    due = DueCredentials()
    chain = CredentialChain(Resolver(due))
    results = await asyncio.gather(*(chain.current() for _ in range(5)))
    assert set(results) == {TEMPORARY}
    assert due.refreshed_in and "MainThread" not in due.refreshed_in
    assert TEMPORARY.secret_key not in repr(results[0]) and TEMPORARY.token not in repr(chain)
