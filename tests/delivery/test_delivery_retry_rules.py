"""Backoff, Retry-After parsing, 409 classification, read-back parsing, templates."""

from __future__ import annotations

import random

import orjson
import pytest

from streams.delivery.backoff import full_jitter, parse_retry_after
from streams.delivery.readback import (
    NOT_READY_MESSAGE,
    Conflict,
    InteractionView,
    classify_conflict,
    view,
)
from streams.delivery.templates import Templates
from streams.policy import WrapupCode


def test_full_jitter_grows_exponentially_up_to_the_cap() -> None:
    rand = random.Random(7)
    for retry, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (6, 10.0), (30, 10.0)]:
        delays = [full_jitter(retry, base=0.5, cap=10.0, rand=rand) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= ceiling
        assert max(delays) > 0.8 * ceiling  # the whole range is used


@pytest.mark.parametrize(("value", "expected"), [
    ("7", 7.0), (" 1.5 ", 1.5), ("-3", 0.0), (None, None), ("soon", None), ("nan", None),
    ("Thu, 01 Jan 1970 00:01:40 GMT", 40.0), ("Thu, 01 Jan 1970 00:00:10 GMT", 0.0),
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=60.0) == expected


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


@pytest.mark.parametrize(("doc", "expected", "wrapped"), [
    ({"state": "wrapping-up"}, InteractionView("wrapping-up", None), False),
    ({"state": "wrapped", "wrapupCode": {"id": "c"}}, InteractionView("wrapped", "c"), True),
    ({"status": "wrapped"}, InteractionView("wrapped", None), True),
    ({"wrapup": {"code": {"id": "c"}}}, InteractionView(None, "c"), True),
    ({"wrapup": {"code": "c"}}, InteractionView(None, "c"), True),
    ({"wrapupCodeId": "c"}, InteractionView(None, "c"), True),
    ({"state": 3, "wrapupCode": None}, InteractionView(None, None), False),
    ([1, 2], InteractionView(None, None), False),
])
def test_view(doc: object, expected: InteractionView, wrapped: bool) -> None:
    assert view(doc) == expected
    assert expected.wrapped is wrapped


def test_templates_reject_bad_config() -> None:
    with pytest.raises(ValueError, match="interactionId"):
        Templates("/x", "/y/{interactionId}", "{}")
    with pytest.raises(ValueError, match="JSON"):
        Templates("/{interactionId}", "/{interactionId}", '{"id": {codeId}}')


def test_template_placeholders_in_keys_and_lists() -> None:
    t = Templates("/{interactionId}", "/{interactionId}",
                  '{"codes": ["{codeId}", "{codeLabel}"], "{codeId}": true}')
    body = orjson.loads(t.body(WrapupCode('a"b', "l\\n")))
    assert body == {"codes": ['a"b', "l\\n"], 'a"b': True}
