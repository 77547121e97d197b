"""The read-back table: what an answer to the platform's read-back request means.

Every read-back (before a resumed POST, after a 409, before giving up, and
:meth:`~streams.delivery.Dispatcher.get_interaction`) goes through :func:`reading_of`,
one answer per status:

=====================================================  ===================================
the platform's parser reads a view (generic: 2xx JSON)  ``SEEN``: the view decides
2xx it cannot read                                      ``RETRY`` ``malformed_response``
404                                                     ``NOT_FOUND``: final, ``not_found``
429                                                     ``RETRY`` ``rate_limited``, delay =
                                                        ``Retry-After`` (pauses the process)
408, 5xx                                                ``RETRY`` ``server_error``
401 after the auth flow's refresh                       ``RETRY`` ``unauthorized`` if the auth
                                                        can refresh, else ``REFUSED``
other 3xx / 4xx (400, 403, 409, 422, ...)               ``REFUSED``: it cannot tell
timeout, connection error, token endpoint unavailable   ``RETRY`` (the error label)
token rejected                                          ``REFUSED`` ``token_rejected``
cancelled while waiting for the rate limiter            ``CANCELLED``
=====================================================  ===================================

What each caller does with a reading is the dispatcher's (see its module docstring).

What the readings mean to each caller of the dispatcher:

* before a resumed POST (``readback_first``): a code on it is final; none: POST;
  ``NOT_FOUND``: failed; ``REFUSED``: POST (its own answer decides); ``RETRY``: up to
  ``READBACK_TRIES`` read-backs with backoff (or the server's delay), then POST — a
  wrapped leg refuses the POST, so that is safe.
* after an already-wrapped / unclear POST answer: a code is final; none: retry the
  POST as not ready; ``NOT_FOUND`` / ``REFUSED``: failed; ``RETRY``: retry the POST.
* before giving up: only a code on it changes the report.
* before every POST when the platform's write may overwrite a wrap-up already set
  (``reads_before_write``: CXone, Connect): as after a conflict, but no code means POST now
  (its limiter slot booked with the read's; a re-send waits at most ``GUARD_WINDOW``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import httpx

from streams.delivery.api import Exchange
from streams.platforms import ApiSide, Verdict, WrapupView
from streams.platforms.statuses import answer_for_status


class Reading(enum.Enum):
    """What a read-back told us."""

    SEEN = "seen"  # a view of the leg's wrap-up
    NOT_FOUND = "not_found"  # the platform does not know the interaction
    REFUSED = "refused"  # a definite answer that says nothing about the wrap-up
    RETRY = "retry"  # no answer yet: ask again later
    CANCELLED = "cancelled"  # the delivery was cancelled before the request went out


@dataclass(frozen=True, slots=True)
class ReadBack:
    """One read-back's result; ``reason`` is a metric / report label."""

    reading: Reading
    reason: str
    view: WrapupView | None = None
    delay: float | None = None  # RETRY after a 429: the server's Retry-After, if any
    status: int | None = None
    response: httpx.Response | None = field(default=None, repr=False, compare=False)


def reading_of(
    exchange: Exchange, platform: ApiSide, *, refreshable: bool, now: float
) -> ReadBack:
    """The table above; ``now`` is epoch seconds (``Retry-After`` dates)."""
    response = exchange.response
    if response is None:
        if exchange.error == "cancelled":
            return ReadBack(Reading.CANCELLED, "cancelled_wrapped")
        error = exchange.error or "transport_error"
        return ReadBack(Reading.RETRY if exchange.retryable else Reading.REFUSED, error)
    status = response.status_code
    view = platform.parse_readback(response)
    if view is not None:
        return ReadBack(Reading.SEEN, "ok", view, status=status, response=response)
    if 200 <= status < 300:
        return ReadBack(Reading.RETRY, "malformed_response", status=status)
    if status == 404:
        return ReadBack(Reading.NOT_FOUND, "not_found", status=status)
    answer = answer_for_status(response, now)
    if answer.verdict is Verdict.RATE_LIMITED:
        return ReadBack(Reading.RETRY, answer.reason, delay=answer.retry_after, status=status)
    if answer.verdict is Verdict.TRANSIENT or (
        answer.verdict is Verdict.UNAUTHORIZED and refreshable
    ):
        return ReadBack(Reading.RETRY, answer.reason, status=status)
    reason = answer.reason if answer.verdict in (Verdict.PERMANENT, Verdict.UNAUTHORIZED) \
        else "client_error"
    return ReadBack(Reading.REFUSED, reason, status=status)
