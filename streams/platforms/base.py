"""The platform seam: what a contact-center platform must say, in the bridge's own words.

Two sides, one interface each (both pure: no I/O, no clock, no globals):

* :class:`EventsSide` turns a record from the platform's event bridge into canonical
  :class:`~streams.events.Event` s (several when one record covers several agent legs).
* :class:`ApiSide` builds the wrap-up and read-back requests, says what an answer
  means (:class:`Answer`), reads a read-back into a :class:`WrapupView`, and provides
  the auth flow (an ``httpx.Auth``).

The dispatcher (:mod:`streams.delivery`) keeps retries, backoff, rate limits, deadlines
and cancellation, and asks the seam only what is platform-specific.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlencode

import httpx
import orjson

from streams.events import Event, Rejection
from streams.policy import WrapupCode

RawValue = bytes | bytearray | memoryview | str | None
Decoded = tuple[Event, ...] | Rejection


class Leg(NamedTuple):
    """What a wrap-up is set on: one agent leg of an interaction."""

    interaction_id: str
    leg_id: str | None = None  # participant / leg ID; None: the interaction's only leg
    communication_id: str | None = None  # Genesys: the participant's communication
    media_type: str | None = None  # Genesys: the conversation's path segment (calls, ...)


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One request to the platform API, relative to its base URL."""

    endpoint: str  # metric label: wrapup, interaction
    method: str
    path: str
    content: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, endpoint: str, method: str, path: str, body: Any) -> ApiRequest:
        """A request with a JSON body."""
        return cls(endpoint, method, path, orjson.dumps(body),
                   (("Content-Type", "application/json"),))

    @classmethod
    def form(cls, endpoint: str, method: str, path: str,
             fields: Mapping[str, str]) -> ApiRequest:
        """A request with a form-encoded body (``application/x-www-form-urlencoded``)."""
        return cls(endpoint, method, path, urlencode(fields).encode(),
                   (("Content-Type", "application/x-www-form-urlencoded"),))


class Conflict(enum.Enum):
    """What a conflicting answer to a wrap-up POST means (a metric label)."""

    NOT_READY = "not_ready"
    ALREADY_WRAPPED = "already_wrapped"
    OTHER = "other"  # unclear: read back to decide


class Verdict(enum.Enum):
    """What the dispatcher should do about an answer to a wrap-up POST."""

    APPLIED = "applied"
    NOT_READY = "not_ready"  # retry within the deadline
    READ_BACK = "read_back"  # already wrapped, or unclear: read back, never overwrite
    RATE_LIMITED = "rate_limited"  # wait ``retry_after`` (else back off)
    UNAUTHORIZED = "unauthorized"  # retried only when the auth flow can refresh
    PERMANENT = "permanent"
    TRANSIENT = "transient"


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer classified: the verdict, a reason (a metric label), the details."""

    verdict: Verdict
    reason: str
    conflict: Conflict | None = None  # set for the answers counted as conflicts (409s)
    retry_after: float | None = None  # seconds, from the answer (RATE_LIMITED)


@dataclass(frozen=True, slots=True)
class WrapupView:
    """A read-back, neutral: is a wrap-up on the leg, with which code, is ACW still on."""

    wrapped: bool  # a wrap-up is set (by anyone, with or without a code we can see)
    code_id: str | None  # the code that is on it, when the platform says
    wrapping_up: bool  # still in after-call work: a POST may yet be accepted
    state: str | None = None  # the platform's own word for the state (logs only)


class ApiAuth(httpx.Auth):
    """An auth flow that says whether a 401 can be cured by refreshing credentials."""

    @property
    def refreshable(self) -> bool:
        return False


class EventsSide(Protocol):
    """A platform's event payloads as canonical events.

    Per-leg keys: events carry the interaction ID today; a platform with several agent
    legs will also set a leg ID on each event, and ``Leg(interaction_id, leg_id)`` is then
    the join's key. The Kafka record key stays the interaction ID, so every leg of an
    interaction lands on one partition.
    """

    def decode(self, raw: RawValue) -> Decoded:
        """One bridge record: its events (several for several legs; none when it says
        nothing the join needs), or a :class:`~streams.events.Rejection`. Never raises."""
        ...


class ApiSide(Protocol):
    """A platform's API: requests to build, answers to read, and the auth flow."""

    def auth(self, client: httpx.AsyncClient, *, clock: Callable[[], float]) -> ApiAuth:
        """The flow every API request is sent with; ``client`` can fetch tokens, ``clock``
        is monotonic (token lifetimes)."""
        ...

    def wrapup_request(self, leg: Leg, code: WrapupCode) -> ApiRequest:
        """The request that sets ``code`` on ``leg``."""
        ...

    def classify(self, response: httpx.Response, now: float) -> Answer:
        """What an answer to :meth:`wrapup_request` means; ``now`` is epoch seconds (for
        ``Retry-After`` dates)."""
        ...

    def readback_request(self, leg: Leg) -> ApiRequest:
        """The request that shows what wrap-up is on ``leg``."""
        ...

    def parse_readback(self, response: httpx.Response) -> WrapupView | None:
        """The answer to :meth:`readback_request` as a view; None when it is not one (an
        error status, an unreadable body): the dispatcher's status table decides then."""
        ...


def reads_before_write(api: ApiSide) -> bool:
    """True for a platform whose wrap-up write may overwrite one already set (Amazon
    Connect's attributes; CXone's dispositions, not known to refuse a second): its side
    sets ``read_before_write = True``, and the dispatcher reads back before every write so
    that a wrap-up someone else set is never replaced. An optional capability: sides
    without the attribute are read back only as usual."""
    return getattr(api, "read_before_write", False) is True


@dataclass(frozen=True, slots=True)
class Platform:
    """One platform dialect: its name and its two sides."""

    name: str
    events: EventsSide
    api: ApiSide
