"""What an HTTP status means when the platform's body adds nothing: the default table.

A dialect's :meth:`~streams.platforms.base.ApiSide.classify` reads what it knows (the
generic one: its 409 bodies) and hands everything else here:

=====================  ==============================================
2xx                    applied (``posted``)
409                    read back (a conflict nobody explained)
429                    rate limited, for ``Retry-After`` seconds
408, 5xx               transient (``server_error``)
401                    unauthorized (retried if the auth can refresh)
400, 403, 404          permanent (``bad_request``, ``forbidden``, ``not_found``)
any other              permanent (``client_error``)
=====================  ==============================================
"""

from __future__ import annotations

from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from streams.platforms.base import Answer, Conflict, Verdict

_PERMANENT = {400: "bad_request", 403: "forbidden", 404: "not_found"}


def answer_for_status(response: httpx.Response, now: float) -> Answer:
    """The default meaning of ``response``'s status (table above); ``now``: epoch seconds."""
    status = response.status_code
    if 200 <= status < 300:
        return Answer(Verdict.APPLIED, "posted")
    if status == 409:
        return Answer(Verdict.READ_BACK, Conflict.OTHER.value, Conflict.OTHER)
    if status == 429:
        delay = parse_retry_after(response.headers.get("Retry-After"), now)
        return Answer(Verdict.RATE_LIMITED, "rate_limited", retry_after=delay)
    if status >= 500 or status == 408:
        return Answer(Verdict.TRANSIENT, "server_error")
    if status == 401:
        return Answer(Verdict.UNAUTHORIZED, "unauthorized")
    return Answer(Verdict.PERMANENT, _PERMANENT.get(status, "client_error"))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date).

    ``now`` is the wall clock (epoch seconds), needed for the date form. Returns None when
    the header is absent or unreadable, and never a negative number.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


def success_object(response: httpx.Response) -> dict[str, Any] | None:
    """``response``'s body when it is a 2xx answer holding a JSON object; None otherwise."""
    if not 200 <= response.status_code < 300:
        return None
    try:
        doc = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None
