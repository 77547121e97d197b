"""Agent legs from a conversation notification: ended, wrapping-up, wrapped per participant.

Genesys has no "after-call work started" topic; it is derived here, per agent
participant (``purpose`` ``agent`` or ``user``), from the two conversation shapes
(:mod:`.topics`):

* flat (``v2.users.{id}.conversations.calls`` and its queue twin): ``state``
  ``disconnected``/``terminated`` is *ended* (at ``endTime``); ``startAcwTime`` set is
  *wrapping-up* — the participant's after-call-work segment has begun, which is when
  a wrap-up can be set (a disconnected participant with ``wrapupRequired`` may not be
  in ACW yet: the platform starts the segment, and stamps ``startAcwTime`` then); a
  ``wrapup`` with a code (or ``wrapupSkipped``) is *wrapped*. ``wrapupTimeoutMs`` after
  ``startAcwTime`` is the ACW deadline. No communication ID in this shape.
* conversation (``v2.users.{id}.conversations``): per communication (``calls[]``, ...),
  ``afterCallWork.state`` ``pending`` is *wrapping-up* (at ``afterCallWork.startTime``),
  ``complete`` or ``skipped`` is *wrapped*, ``notApplicable`` needs nothing; the
  communication ``id`` is carried, which lets the API side use the communication
  wrap-up endpoint.

A participant whose ``wrapupRequired`` (or, in the conversation shape,
``wrapupExpected``) is false needs nothing from us and yields no events; so do the
customer, IVR and ACD participants. A wrap-up whose code is ``ININ-WRAP-UP-TIMEOUT``
was set by the platform's ACW timeout (``wrapped_by`` ``platform``); any other code's
setter is not in the payload (``unknown``: the join reads an unknown setter with our own
code as the echo of our POST). Pure.
"""

from __future__ import annotations

from typing import Any

from streams.events import Event, EventType, RejectReason
from streams.platforms.genesys.envelope import (
    Invalid,
    Record,
    event_id,
    optional_id,
    ref_id,
    safe_id,
    time_of,
)
from streams.platforms.genesys.topics import MEDIA

TIMEOUT_CODE = "ININ-WRAP-UP-TIMEOUT"
AGENT_PURPOSES = frozenset({"agent", "user"})
ENDED_STATES = frozenset({"disconnected", "terminated"})


def wrapped_by(code: str | None) -> str:
    return "platform" if code == TIMEOUT_CODE else "unknown"


class _Leg:
    """The facts common to one participant's events."""

    def __init__(self, record: Record, conversation: str, leg: str, agent: str | None,
                 queue: str | None, media: str, communication: str | None) -> None:
        self.record, self.conversation, self.leg = record, conversation, leg
        self.agent, self.queue, self.media, self.communication = agent, queue, media, communication
        self.events: list[Event] = []

    def add(self, kind: EventType, at: float | None, label: str, *,
            deadline: float | None = None, code: str | None = None) -> None:
        at = at if at is not None else self.record.timestamp
        if at is None:
            raise Invalid(RejectReason.MISSING_FIELD, f"{label}: no time for {kind.value}")
        wrapped = kind is EventType.WRAPPED
        self.events.append(Event(
            event_id=event_id(self.record, self.leg, kind.value), type=kind,
            interaction_id=self.conversation, occurred_at=at, agent_id=self.agent,
            queue_id=self.queue, acw_deadline=deadline, wrapup_code_id=code,
            wrapped_by=wrapped_by(code) if wrapped else None, leg_id=self.leg,
            communication_id=self.communication, media_type=self.media))


def _participants(body: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    parts = body.get("participants")
    if parts is None:
        return []
    if not isinstance(parts, list):
        raise Invalid(RejectReason.WRONG_TYPE, "eventBody.participants must be a list")
    return [(i, p) for i, p in enumerate(parts)
            if isinstance(p, dict) and _lower(p.get("purpose")) in AGENT_PURPOSES]


def _code(wrapup: object, label: str) -> tuple[bool, str | None]:
    """(a wrap-up is there, its code) from a ``wrapup`` object."""
    if wrapup is None:
        return False, None
    if not isinstance(wrapup, dict):
        raise Invalid(RejectReason.WRONG_TYPE, f"{label} must be an object")
    code = optional_id(wrapup.get("code"), f"{label}.code")
    return code is not None, code


def _lower(value: object) -> str:
    return value.lower() if isinstance(value, str) else ""


def flat_events(record: Record, media: str) -> list[Event]:
    """Events of a flat-participant conversation (one media)."""
    conversation = safe_id(record.body.get("id"), "eventBody.id")
    out: list[Event] = []
    for i, p in _participants(record.body):
        label = f"participants[{i}]"
        if p.get("wrapupRequired") is not True:
            continue
        leg = _Leg(record, conversation, safe_id(p.get("id"), f"{label}.id"),
                   ref_id(p.get("user"), f"{label}.user"),
                   ref_id(p.get("queue"), f"{label}.queue"), media, None)
        ended_at = time_of(p.get("endTime"), f"{label}.endTime")
        acw_at = time_of(p.get("startAcwTime"), f"{label}.startAcwTime")
        timeout = p.get("wrapupTimeoutMs")
        deadline = (acw_at + timeout / 1000.0
                    if acw_at is not None and isinstance(timeout, int)
                    and not isinstance(timeout, bool) and 0 < timeout < 10**10 else None)
        wrapped, code = _code(p.get("wrapup"), f"{label}.wrapup")
        if _lower(p.get("state")) in ENDED_STATES:
            leg.add(EventType.ENDED, ended_at, label, deadline=deadline)
        if wrapped or p.get("wrapupSkipped") is True:
            done = time_of(p.get("endAcwTime"), f"{label}.endAcwTime")
            leg.add(EventType.WRAPPED, done or acw_at or ended_at, label, code=code)
        elif acw_at is not None:
            leg.add(EventType.WRAPPING_UP, acw_at, label, deadline=deadline)
        out.extend(leg.events)
    return out


def conversation_events(record: Record) -> list[Event]:
    """Events of a ``v2.users.{id}.conversations`` body (communications per participant)."""
    conversation = safe_id(record.body.get("id"), "eventBody.id")
    out: list[Event] = []
    for i, p in _participants(record.body):
        label = f"participants[{i}]"
        if p.get("wrapupRequired") is False or p.get("wrapupExpected") is False:
            continue
        found = _communication(p, label)
        if found is None:
            continue
        media, c, clabel = found
        acw = c.get("afterCallWork")
        acw = acw if isinstance(acw, dict) else {}
        acw_state = _lower(acw.get("state"))
        if acw_state == "notapplicable":
            continue
        leg = _Leg(record, conversation, safe_id(p.get("id"), f"{label}.id"),
                   optional_id(p.get("userId"), f"{label}.userId"),
                   optional_id(p.get("queueId"), f"{label}.queueId"), media,
                   safe_id(c.get("id"), f"{clabel}.id"))
        ended_at = (time_of(c.get("disconnectedTime"), f"{clabel}.disconnectedTime")
                    or time_of(p.get("endTime"), f"{label}.endTime"))
        acw_at = (time_of(acw.get("startTime"), f"{clabel}.afterCallWork.startTime")
                  or time_of(p.get("startAcwTime"), f"{label}.startAcwTime"))
        wrapped, code = _code(c.get("wrapup") or p.get("wrapup"), f"{clabel}.wrapup")
        if _lower(c.get("state")) in ENDED_STATES:
            leg.add(EventType.ENDED, ended_at, clabel)
        if acw_state in ("complete", "skipped") or wrapped:
            done = (time_of(acw.get("endTime"), f"{clabel}.afterCallWork.endTime")
                    or time_of(p.get("endAcwTime"), f"{label}.endAcwTime"))
            leg.add(EventType.WRAPPED, done or acw_at or ended_at, clabel, code=code)
        elif acw_state == "pending":
            leg.add(EventType.WRAPPING_UP, acw_at, clabel)
        out.extend(leg.events)
    return out


def _communication(p: dict[str, Any], label: str
                   ) -> tuple[str, dict[str, Any], str] | None:
    """The participant's communication to wrap: the last one with after-call work in
    progress or done, else its last one; None when it has none."""
    chosen: tuple[str, dict[str, Any], str] | None = None
    best = -1
    for media in MEDIA:
        items = p.get(media)
        if items is None:
            continue
        if not isinstance(items, list):
            raise Invalid(RejectReason.WRONG_TYPE, f"{label}.{media} must be a list")
        for j, c in enumerate(items):
            if not isinstance(c, dict):
                continue
            acw = c.get("afterCallWork")
            state = _lower(acw.get("state")) if isinstance(acw, dict) else ""
            rank = 1 if state in ("pending", "complete", "skipped") else 0
            if rank >= best:
                chosen, best = (media, c, f"{label}.{media}[{j}]"), rank
    return chosen
