"""Platform events: the canonical model and a parser that never raises.

Wire format (JSON, one event per Kafka message, produced by the platform bridge)::

    {"id": "evt-1", "type": "interaction:ended", "timestamp": "2026-11-25T10:00:00.120Z",
     "data": {"id": "int-42", "agentId": "a-7", "queueId": "q-sales",
              "campaignId": "c-renewals", "acwDeadline": "2026-11-25T10:02:00Z"}}

Accepted types: ``interaction:ended``; ``interaction:wrapping-up`` or
``interaction:state-changed`` whose ``data.state`` (or ``data.newState``) is a
wrapping-up state; ``interaction:wrapped`` (``data.wrapupCode`` and ``data.source``
say who set which code). ``timestamp`` may be an ISO-8601 string or epoch
milliseconds. Anything else becomes a :class:`Rejection` with a reason.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson

MAX_EVENT_BYTES = 64 * 1024
MAX_ID_LENGTH = 128
# Accepted timestamps, epoch seconds: after the epoch, before 1e11 (the year 5138).
_MAX_EPOCH_SECONDS = 1e11

# Interaction IDs go into a URL path: allow only characters that cannot change it.
_SAFE_ID = re.compile(r"[A-Za-z0-9_\-:.]{1,128}")
_WRAPPING_UP_STATES = frozenset({"wrapping-up", "wrapping_up", "wrapup", "acw", "wrapping"})


class EventType(enum.Enum):
    """The lifecycle events the join cares about."""

    ENDED = "ended"
    WRAPPING_UP = "wrapping-up"
    WRAPPED = "wrapped"


class RejectReason(enum.Enum):
    """Why an input was not accepted as an event (bounded set: a metric label)."""

    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    TOO_LARGE = "too_large"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    UNKNOWN_TYPE = "unknown_type"
    UNSAFE_ID = "unsafe_id"
    BAD_TIMESTAMP = "bad_timestamp"


LEG_SEPARATOR = "/"  # never in a safe ID (see _SAFE_ID): the key splits unambiguously


def leg_key(interaction_id: str, leg_id: str | None) -> str:
    """The join's unit: ``interaction`` for a single-leg interaction, else
    ``interaction/leg``. All legs of an interaction share its Kafka record key, so they
    land on one partition."""
    return interaction_id if leg_id is None else f"{interaction_id}{LEG_SEPARATOR}{leg_id}"


def split_leg_key(key: str) -> tuple[str, str | None]:
    """Inverse of :func:`leg_key`."""
    interaction_id, _, leg_id = key.partition(LEG_SEPARATOR)
    return interaction_id, leg_id or None


class Event(NamedTuple):
    """One validated lifecycle event of an interaction (a named tuple: cheap to build)."""

    event_id: str
    type: EventType
    interaction_id: str
    occurred_at: float
    agent_id: str | None = None
    queue_id: str | None = None
    campaign_id: str | None = None
    acw_deadline: float | None = None
    wrapup_code_id: str | None = None
    wrapped_by: str | None = None
    leg_id: str | None = None  # agent participant / leg; None: the interaction's only leg
    communication_id: str | None = None  # the leg's communication (Genesys), if known
    media_type: str | None = None  # the leg's media (calls, chats, ...), if the API needs it

    @property
    def key(self) -> str:
        """The join's key: the leg (see :func:`leg_key`)."""
        return leg_key(self.interaction_id, self.leg_id)


@dataclass(frozen=True, slots=True)
class Rejection:
    """An input that is not a usable event, with a machine reason and a human detail."""

    reason: RejectReason
    detail: str


class _Invalid(Exception):
    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


_IGNORED_TYPES = frozenset(
    {"interaction:created", "interaction:connected", "interaction:alerting", "interaction:held"}
)


def parse_event(raw: bytes | bytearray | memoryview | str | None) -> Event | Rejection:
    """Parse one message value; bad input yields a :class:`Rejection`, never an exception."""
    try:
        return _parse(raw)
    except _Invalid as exc:
        return Rejection(exc.reason, exc.detail)


def is_ignorable(rejection: Rejection) -> bool:
    """True for well-formed events of lifecycle types the join does not need."""
    return rejection.reason is RejectReason.UNKNOWN_TYPE and rejection.detail.startswith(
        "ignored type"
    )


def _parse(raw: bytes | bytearray | memoryview | str | None) -> Event:
    if raw is None:
        raise _Invalid(RejectReason.NOT_JSON, "empty message")
    size = len(raw.encode(errors="surrogatepass")) if isinstance(raw, str) else len(raw)
    if size > MAX_EVENT_BYTES:
        raise _Invalid(RejectReason.TOO_LARGE, f"{size} bytes > {MAX_EVENT_BYTES}")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _Invalid(RejectReason.NOT_JSON, f"invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise _Invalid(RejectReason.NOT_OBJECT, f"top level is {type(doc).__name__}")
    event = _parse_plain(doc)
    if event is not None:
        return event
    return _parse_checked(doc)


_new_tuple = tuple.__new__  # a named tuple from a sequence, without its Python __new__
_PLAIN_TYPES = {
    "interaction:ended": EventType.ENDED,
    "interaction:wrapping-up": EventType.WRAPPING_UP,
    "interaction:wrapped": EventType.WRAPPED,
}


def _parse_plain(doc: dict[str, Any]) -> Event | None:
    """The common case, cheaply: every field present has its plain type and is valid.

    Returns None for anything else, and :func:`_parse_checked` (which names what is
    wrong) decides. When this returns an event, it equals what ``_parse_checked``
    returns for the same document (a property test holds the two together).
    """
    data = doc.get("data")
    name = doc.get("type")
    if type(data) is not dict or type(name) is not str:
        return None
    event_type = _PLAIN_TYPES.get(name)
    iid = data.get("id")
    if (event_type is None or type(iid) is not str or not _SAFE_ID.fullmatch(iid)
            or ".." in iid or iid == "."):
        return None
    event_id = doc.get("id")
    if event_id is None:
        event_id = f"{iid}:{name}"
    elif type(event_id) is not str or not 0 < len(event_id) <= MAX_ID_LENGTH:
        return None
    at = doc.get("timestamp")
    if type(at) is not int and type(at) is not float:
        return None
    occurred_at = float(at) / 1000.0
    acw = data.get("acwDeadline")
    if acw is None:
        acw_deadline = None
    elif type(acw) is int or type(acw) is float:
        acw_deadline = float(acw) / 1000.0
        if not 0 < acw_deadline < _MAX_EPOCH_SECONDS:
            return None
    else:
        return None
    code = data.get("wrapupCode")
    code_id = None
    if code is not None:
        if type(code) is not dict:
            return None
        code_id = code.get("id")
    agent, queue, campaign, source = (data.get("agentId"), data.get("queueId"),
                                      data.get("campaignId"), data.get("source"))
    for value in (agent, queue, campaign, source, code_id):
        if value is not None and (type(value) is not str or not 0 < len(value) <= MAX_ID_LENGTH):
            return None
    if not 0 < occurred_at < _MAX_EPOCH_SECONDS:
        return None
    return _new_tuple(Event, (event_id, event_type, iid, occurred_at, agent, queue, campaign,
                              acw_deadline, code_id, source, None, None, None))


def _parse_checked(doc: dict[str, Any]) -> Event:
    """Every rule, one field at a time; raises :class:`_Invalid` naming the first problem."""
    data = doc.get("data")
    if not isinstance(data, dict):
        raise _Invalid(RejectReason.MISSING_FIELD, "data must be an object")
    name = _required_str(doc, "type")
    event_type = _classify(name, data)
    interaction_id = _required_str(data, "id", "data.id")
    # "." and ".." would be resolved as path segments, changing the URL.
    if not _SAFE_ID.fullmatch(interaction_id) or ".." in interaction_id or interaction_id == ".":
        raise _Invalid(RejectReason.UNSAFE_ID, f"interaction id {interaction_id[:64]!r}")
    event_id = _optional_str(doc, "id") or f"{interaction_id}:{name}"
    occurred_at = _timestamp(doc.get("timestamp"), "timestamp", required=True)
    assert occurred_at is not None
    code = data.get("wrapupCode")
    code_id = None
    if isinstance(code, dict):
        code_id = _optional_str(code, "id", "data.wrapupCode.id")
    elif code is not None:
        raise _Invalid(RejectReason.WRONG_TYPE, "data.wrapupCode must be an object")
    return Event(
        event_id=event_id,
        type=event_type,
        interaction_id=interaction_id,
        occurred_at=occurred_at,
        agent_id=_optional_str(data, "agentId", "data.agentId"),
        queue_id=_optional_str(data, "queueId", "data.queueId"),
        campaign_id=_optional_str(data, "campaignId", "data.campaignId"),
        acw_deadline=_timestamp(data.get("acwDeadline"), "data.acwDeadline", required=False),
        wrapup_code_id=code_id,
        wrapped_by=_optional_str(data, "source", "data.source"),
    )


def _classify(name: str, data: dict[str, Any]) -> EventType:
    if name == "interaction:ended":
        return EventType.ENDED
    if name == "interaction:wrapping-up":
        return EventType.WRAPPING_UP
    if name == "interaction:wrapped":
        return EventType.WRAPPED
    if name == "interaction:state-changed":
        state = data.get("state", data.get("newState"))
        if not isinstance(state, str):
            raise _Invalid(RejectReason.MISSING_FIELD, "data.state must be a string")
        if state.strip().lower() in _WRAPPING_UP_STATES:
            return EventType.WRAPPING_UP
        if state.strip().lower() in {"ended", "disconnected"}:
            return EventType.ENDED
        raise _Invalid(RejectReason.UNKNOWN_TYPE, f"ignored type: state change to {state[:32]!r}")
    if name in _IGNORED_TYPES:
        raise _Invalid(RejectReason.UNKNOWN_TYPE, f"ignored type: {name}")
    raise _Invalid(RejectReason.UNKNOWN_TYPE, f"unknown event type {name[:64]!r}")


def _required_str(obj: dict[str, Any], key: str, label: str | None = None) -> str:
    value = obj.get(key)
    if value is None:
        raise _Invalid(RejectReason.MISSING_FIELD, f"{label or key} is missing")
    if not isinstance(value, str):
        raise _Invalid(RejectReason.WRONG_TYPE, f"{label or key} must be a string")
    if not value:
        raise _Invalid(RejectReason.MISSING_FIELD, f"{label or key} is empty")
    return value


def _optional_str(obj: dict[str, Any], key: str, label: str | None = None) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid(RejectReason.WRONG_TYPE, f"{label or key} must be a string")
    if len(value) > MAX_ID_LENGTH:
        raise _Invalid(RejectReason.WRONG_TYPE, f"{label or key} is longer than {MAX_ID_LENGTH}")
    return value or None


def _timestamp(value: object, label: str, *, required: bool) -> float | None:
    """Epoch seconds from an ISO-8601 string or epoch milliseconds."""
    if value is None:
        if required:
            raise _Invalid(RejectReason.MISSING_FIELD, f"{label} is missing")
        return None
    if isinstance(value, bool):
        raise _Invalid(RejectReason.WRONG_TYPE, f"{label} must be a string or a number")
    if isinstance(value, int | float):
        seconds = float(value) / 1000.0
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _Invalid(RejectReason.BAD_TIMESTAMP, f"{label} is not ISO-8601") from None
        if parsed.tzinfo is None:
            raise _Invalid(RejectReason.BAD_TIMESTAMP, f"{label} has no time zone")
        seconds = parsed.timestamp()
    else:
        raise _Invalid(RejectReason.WRONG_TYPE, f"{label} must be a string or a number")
    if not 0 < seconds < _MAX_EPOCH_SECONDS:
        raise _Invalid(RejectReason.BAD_TIMESTAMP, f"{label} out of range")
    return seconds


def encode_event(event: Event) -> bytes:
    """Render an event in the wire format (used by the simulator and tests)."""
    names = {
        EventType.ENDED: "interaction:ended",
        EventType.WRAPPING_UP: "interaction:wrapping-up",
        EventType.WRAPPED: "interaction:wrapped",
    }
    data: dict[str, Any] = {"id": event.interaction_id}
    for key, value in (
        ("agentId", event.agent_id),
        ("queueId", event.queue_id),
        ("campaignId", event.campaign_id),
        ("source", event.wrapped_by),
    ):
        if value is not None:
            data[key] = value
    if event.acw_deadline is not None:
        data["acwDeadline"] = round(event.acw_deadline * 1000)
    if event.wrapup_code_id is not None:
        data["wrapupCode"] = {"id": event.wrapup_code_id}
    return orjson.dumps(
        {
            "id": event.event_id,
            "type": names[event.type],
            "timestamp": round(event.occurred_at * 1000),
            "data": data,
        }
    )
