"""The dispatcher over the Connect dialect (MockTransport): read before every write."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import orjson
import pytest

from streams.config import Settings
from streams.delivery import Dispatcher
from streams.delivery.job import DeliveryJob
from streams.outcomes import Outcome
from streams.platforms.connect.credentials import Frozen
from streams.policy import WrapupCode
from tests.delivery.fixtures import VirtualTime
from tests.platforms.connect.fixtures import ENV, INSTANCE
from tests.platforms.connect.test_sigv4 import reverify

CODE = WrapupCode("wc-sales", "Sales - auto")
KEYS = Frozen("ASIATESTKEY0000009", "test-secret-9", "test-session-token-9")
CONTACT = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": KEYS.access_key,
                        "AWS_SECRET_ACCESS_KEY": KEYS.secret_key,
                        "AWS_SESSION_TOKEN": KEYS.token or "",
                        "AWS_EC2_METADATA_DISABLED": "true",
                        "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE":
                        "/nonexistent"}.items():
        monkeypatch.setenv(name, value)


@dataclass
class MiniConnect:
    """The two attribute endpoints, checking each signature; scripted POST answers."""

    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    post_answers: list[httpx.Response] = field(default_factory=list)
    get_answers: list[httpx.Response] = field(default_factory=list)
    apply_before_answer: bool = True
    log: list[str] = field(default_factory=list)
    writes: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert reverify(request, KEYS, "us-west-2"), "bad signature"
        if request.method == "GET":
            self.log.append("GET")
            assert request.url.path == f"/contact/attributes/{INSTANCE}/{CONTACT}"
            if self.get_answers:
                return self.get_answers.pop(0)
            return httpx.Response(200, content=orjson.dumps(
                {"Attributes": self.attributes.get(CONTACT, {})}))
        self.log.append("POST")
        body = orjson.loads(request.content)
        answer = self.post_answers.pop(0) if self.post_answers else httpx.Response(200)
        if answer.status_code == 200 or (self.apply_before_answer and answer.status_code >= 500):
            self.writes += 1
            self.attributes.setdefault(body["InitialContactId"], {}).update(body["Attributes"])
        return answer


def dispatcher(connect: MiniConnect, clock: VirtualTime) -> Dispatcher:
    settings = Settings.from_env({**ENV, "WRAPUP_API_RATE_LIMIT": "1000",
                                  "WRAPUP_API_MAX_ATTEMPTS": "6"})
    return Dispatcher.from_settings(settings, transport=httpx.MockTransport(connect.handle),
                                    clock=clock.time, monotonic=clock.monotonic,
                                    sleep=clock.sleep)


async def deliver(connect: MiniConnect) -> tuple[Outcome, str]:
    clock = VirtualTime()
    d = dispatcher(connect, clock)
    try:
        report = await d.deliver(DeliveryJob(CONTACT, CODE, deadline=clock.time() + 120))
    finally:
        await d.aclose()
    return report.outcome, report.reason


async def test_an_unset_attribute_is_read_then_written_once() -> None:
    connect = MiniConnect()
    assert await deliver(connect) == (Outcome.APPLIED, "posted")
    assert connect.log == ["GET", "POST"] and connect.writes == 1
    assert connect.attributes[CONTACT] == {"wrapupCode": "wc-sales"}


async def test_an_attribute_someone_else_set_is_never_overwritten() -> None:
    connect = MiniConnect(attributes={CONTACT: {"wrapupCode": "wc-agent"}})
    assert await deliver(connect) == (Outcome.SKIPPED, "wrapped_by_other_code")
    assert connect.log == ["GET"] and connect.attributes[CONTACT] == {"wrapupCode": "wc-agent"}


async def test_a_throttling_burst_is_waited_out_with_a_read_before_each_write() -> None:
    throttled = httpx.Response(429, headers={"x-amzn-ErrorType": "ThrottlingException"})
    connect = MiniConnect(post_answers=[throttled, throttled])
    assert await deliver(connect) == (Outcome.APPLIED, "posted")
    assert connect.log == ["GET", "POST"] * 3 and connect.writes == 1


async def test_a_write_whose_answer_was_lost_is_found_by_the_next_read() -> None:
    connect = MiniConnect(post_answers=[httpx.Response(500)])
    assert await deliver(connect) == (Outcome.ALREADY_APPLIED, "readback_same_code")
    assert connect.log == ["GET", "POST", "GET"] and connect.writes == 1


async def test_a_read_that_is_refused_never_leads_to_a_blind_write() -> None:
    denied = httpx.Response(403, headers={"x-amzn-ErrorType": "AccessDeniedException"})
    connect = MiniConnect(get_answers=[denied])
    assert await deliver(connect) == (Outcome.FAILED, "forbidden")
    assert "POST" not in connect.log


async def test_a_throttled_read_is_retried_before_writing() -> None:
    throttled = httpx.Response(429, headers={"x-amzn-ErrorType": "TooManyRequestsException"})
    connect = MiniConnect(get_answers=[throttled])
    assert await deliver(connect) == (Outcome.APPLIED, "posted")
    assert connect.log == ["GET", "GET", "POST"]


async def test_a_pause_set_after_the_read_does_not_hold_the_write() -> None:
    """Another delivery's 429 pauses the process right after our read: the write's slot
    was booked with the read's, so it follows at once instead of seconds later (when
    someone else may have written)."""
    clock = VirtualTime()
    connect = MiniConnect()
    d = dispatcher(connect, clock)
    handle = connect.handle
    sent_at: list[float] = []

    def pause_after_the_read(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.time())
        answer = handle(request)
        if request.method == "GET":
            d.api.limiter.pause_until(clock.monotonic() + 5.0)
        return answer

    d.api.client._transport = httpx.MockTransport(pause_after_the_read)
    try:
        report = await d.deliver(DeliveryJob(CONTACT, CODE, deadline=clock.time() + 120))
        assert (report.outcome, report.reason) == (Outcome.APPLIED, "posted")
        assert connect.log == ["GET", "POST"] and sent_at[1] - sent_at[0] < 0.01
        # A request that may not wait that long is not sent at all.
        from streams.platforms import ApiRequest
        held = await d.api.request(ApiRequest("wrapup", "GET", "https://x/"), max_wait=0.25)
        assert (held.error, held.sent, held.retryable) == ("deferred", 0, True)
        assert connect.log == ["GET", "POST"]
    finally:
        await d.aclose()
