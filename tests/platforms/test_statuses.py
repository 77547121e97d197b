"""The default status table and Retry-After parsing."""

from __future__ import annotations

import httpx
import pytest

from streams.platforms import Answer, Conflict, Verdict
from streams.platforms.statuses import answer_for_status, parse_retry_after


@pytest.mark.parametrize(("status", "expected"), [
    (200, Answer(Verdict.APPLIED, "posted")),
    (204, Answer(Verdict.APPLIED, "posted")),
    (409, Answer(Verdict.READ_BACK, "other", Conflict.OTHER)),
    (429, Answer(Verdict.RATE_LIMITED, "rate_limited")),
    (408, Answer(Verdict.TRANSIENT, "server_error")),
    (500, Answer(Verdict.TRANSIENT, "server_error")),
    (503, Answer(Verdict.TRANSIENT, "server_error")),
    (401, Answer(Verdict.UNAUTHORIZED, "unauthorized")),
    (400, Answer(Verdict.PERMANENT, "bad_request")),
    (403, Answer(Verdict.PERMANENT, "forbidden")),
    (404, Answer(Verdict.PERMANENT, "not_found")),
    (422, Answer(Verdict.PERMANENT, "client_error")),
    (302, Answer(Verdict.PERMANENT, "client_error")),
])
def test_answer_for_status(status: int, expected: Answer) -> None:
    assert answer_for_status(httpx.Response(status), now=0.0) == expected


def test_a_429_carries_its_retry_after() -> None:
    response = httpx.Response(429, headers={"Retry-After": "Thu, 01 Jan 1970 00:01:40 GMT"})
    assert answer_for_status(response, now=60.0).retry_after == 40.0


@pytest.mark.parametrize(("value", "expected"), [
    ("7", 7.0), (" 1.5 ", 1.5), ("-3", 0.0), (None, None), ("soon", None), ("nan", None),
    ("Thu, 01 Jan 1970 00:01:40 GMT", 40.0), ("Thu, 01 Jan 1970 00:00:10 GMT", 0.0),
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=60.0) == expected
