"""What Genesys answers mean: the wrap-up POST/PATCH's status, and the read-back's body.

Answers to a wrap-up (``ConversationsApi``: the POST and the PATCH return no body):

=====================  ======================================================
2xx                    applied
409, 412, 422          read back: a conflict whose meaning is not documented
                       (not in after-call work yet, or already wrapped) —
                       the read-back decides, never a guessed body text
429                    rate limited: ``Retry-After`` seconds, else
                       ``inin-ratelimit-reset`` (seconds until the count resets)
anything else          the default table (:mod:`streams.platforms.statuses`):
                       400 / 403 / 404 permanent, 401 refresh, 5xx / 408 transient
=====================  ======================================================

Read-back: ``AssignedWrapupCode`` ``{"code", "notes", "tags", "durationSeconds",
"endTime"}`` (no ``name``): a ``code`` means wrapped with it; an empty document, or a
404 from the wrap-up resource, means no wrap-up yet (the API does not document which it
answers; both are read as "none", so a leg not yet wrapped is retried, not failed). A
conversation document (the leg-less read-back) is wrapped when every agent participant
that requires one has a wrap-up.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from streams.platforms.base import Answer, Conflict, Verdict, WrapupView
from streams.platforms.statuses import answer_for_status, parse_retry_after

CONFLICTS = frozenset({409, 412, 422})
RATE_HEADERS = ("inin-ratelimit-count", "inin-ratelimit-allowed", "inin-ratelimit-reset")


def classify(response: httpx.Response, now: float) -> Answer:
    """The table above."""
    status = response.status_code
    if status in CONFLICTS:
        return Answer(Verdict.READ_BACK, Conflict.OTHER.value, Conflict.OTHER)
    if status == 429:
        delay = parse_retry_after(response.headers.get("Retry-After"), now)
        if delay is None:
            delay = parse_retry_after(response.headers.get("inin-ratelimit-reset"), now)
        return Answer(Verdict.RATE_LIMITED, "rate_limited", retry_after=delay)
    return answer_for_status(response, now)


def readback_view(response: httpx.Response) -> WrapupView | None:
    """The view of a read-back answer; None for an answer that is not one."""
    status = response.status_code
    if status == 404 and response.request.url.path.endswith("/wrapup"):
        return WrapupView(False, None, True, "no-wrapup")
    if not 200 <= status < 300:
        return None
    if not response.content.strip():
        return WrapupView(False, None, True, "no-wrapup")
    try:
        doc = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict):
        return None
    if "participants" in doc:
        return _conversation_view(doc)
    code = doc.get("code")
    if isinstance(code, str) and code:
        return WrapupView(True, code, False, "wrapped")
    return WrapupView(False, None, True, "no-wrapup")


def _conversation_view(doc: dict[str, Any]) -> WrapupView | None:
    parts = doc.get("participants")
    if not isinstance(parts, list):
        return None
    codes: list[str | None] = []
    for p in parts:
        if not isinstance(p, dict) or p.get("purpose") not in ("agent", "user"):
            continue
        if p.get("wrapupRequired") is False:
            continue
        wrapup = p.get("wrapup")
        code = wrapup.get("code") if isinstance(wrapup, dict) else None
        codes.append(code if isinstance(code, str) and code else None)
    if codes and all(codes):
        return WrapupView(True, codes[-1], False, "wrapped")
    return WrapupView(False, None, True, "no-wrapup")
