"""CXone's events side: an agent session's ``get-next-event`` results as canonical events.

A bridge record is one ``get-next-event`` response body of one agent session, as the
long-poll returns it (``{"sessionId": ..., "events": [...]}``), holding the events of
**one contact**; the bridge may add ``agentId`` (whose session it polls) and
``contactId`` (the contact an ``AgentState`` event concerns), and keys the Kafka record
by the contact ID. A response that names several contacts must be split per contact.

Mapping (field names and values as the agent SDK reads them, nice-devone/nice-cxone-agent-sdk
``call-contact-event.js``, ``agent-state-event.js``, ``cxone-get-next-adapter.js``):

* ``CallContactEvent`` with ``Status: "Disconnected"``: **ended** (the voice path is torn
  down; ``FinalState: "False"`` while the contact stays open for after-call work).
  ``Skill`` (the skill ID) is the queue.
* ``CallContactEvent`` ``Disconnected`` with ``FinalState: "True"``: also **wrapped** by
  the platform: the contact is closed, ACW is over (the agent ended it, or its timeout),
  no disposition can be posted any more. CXone sends no event when a disposition is
  saved: who set which code is learned by read-back only.
* ``AgentState`` with ``IsAcw: "True"``: **wrapping-up** for the record's contact (its
  ``contactId``, else the one contact of its ``CallContactEvent`` s; an ``AgentState``
  tied to no contact says nothing); ``StartTimeUTC`` + ``AcwTimeout`` seconds is the
  ACW deadline.
* Every other event type (``AgentSessionStart``, ``Mute``, ...) is ignored.

The contact ID is the interaction (a transfer gives the receiving agent a new contact
ID, so a contact is already one agent leg: ``leg_id`` stays None); the agent session ID
is the leg's ``communication_id``: an address the disposition POST needs, not part of the
leg's identity (a renewed session must not make the same contact a second leg).
"""

from __future__ import annotations

import re
from typing import Any

from streams.events import MAX_EVENT_BYTES, MAX_ID_LENGTH, Event, EventType, RejectReason
from streams.platforms.base import Decoded, RawValue
from streams.platforms.records import InvalidRecord as _Invalid
from streams.platforms.records import iso_seconds, load_json_object

_SAFE_ID = re.compile(r"[A-Za-z0-9_\-:.]{1,128}")  # as streams.events: safe in a URL path
_MAX_EPOCH_SECONDS = 1e11
WRAPPED_BY = "platform"  # the contact was closed: ACW is over


class CxoneEvents:
    """One ``get-next-event`` record of one contact → its canonical events."""

    def decode(self, raw: RawValue) -> Decoded:
        try:
            return _decode(raw)
        except _Invalid as exc:
            return exc.rejection


def _decode(raw: RawValue) -> tuple[Event, ...]:
    doc = load_json_object(raw, MAX_EVENT_BYTES)
    events = doc.get("events")
    if not isinstance(events, list):
        raise _Invalid(RejectReason.MISSING_FIELD if events is None else RejectReason.WRONG_TYPE,
                       "events must be a list (a get-next-event response)")
    contacts: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    for index, item in enumerate(events):
        if not isinstance(item, dict):
            raise _Invalid(RejectReason.WRONG_TYPE, f"events[{index}] is not an object")
        kind = item.get("Type", item.get("type"))
        if kind == "CallContactEvent":
            contacts.append(item)
        elif kind == "AgentState":
            states.append(item)
    acw = [s for s in states if _true(s.get("IsAcw"))]
    ended = [c for c in contacts if c.get("Status") == "Disconnected"]
    if not ended and not acw:
        return ()
    contact_id = _contact_of(doc, contacts)
    if contact_id is None:  # ACW states only, tied to no contact
        return ()
    session = _safe(doc.get("sessionId"), "sessionId")
    agent = _optional(doc, "agentId")
    queue = next((s for c in contacts if (s := _optional(c, "Skill"))), None)
    out: list[Event] = []
    for contact in ended:
        at = _time(contact.get("LastStateChangeTimeUTC") or contact.get("StartTimeUTC"),
                   "LastStateChangeTimeUTC")
        base = f"{contact_id}:CallContactEvent:{at:.3f}"
        out.append(Event(f"{base}:ended", EventType.ENDED, contact_id, at, agent, queue,
                         communication_id=session))
        if _true(contact.get("FinalState")):
            out.append(Event(f"{base}:closed", EventType.WRAPPED, contact_id, at, agent, queue,
                             wrapped_by=WRAPPED_BY, communication_id=session))
    for state in acw:
        at = _time(state.get("StartTimeUTC"), "AgentState.StartTimeUTC")
        timeout = _seconds(state.get("AcwTimeout"))
        out.append(Event(f"{contact_id}:AgentState:{at:.3f}:acw", EventType.WRAPPING_UP,
                         contact_id, at, agent, queue,
                         acw_deadline=at + timeout if timeout else None,
                         communication_id=session))
    return tuple(out)


def _contact_of(doc: dict[str, Any], contacts: list[dict[str, Any]]) -> str | None:
    """The record's one contact (its ``contactId`` or its contact events'); refuses two."""
    named = {_safe(c.get("ContactID"), "ContactID") for c in contacts}
    if doc.get("contactId") is not None:
        named.add(_safe(doc.get("contactId"), "contactId"))
    if len(named) > 1:
        raise _Invalid(RejectReason.WRONG_TYPE,
                       f"one record, one contact: it names {len(named)} (split it per contact)")
    return next(iter(named), None)


def _safe(value: object, label: str) -> str:
    """An ID that is safe in a URL path (the same rule as the generic dialect's)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a numeric ID sent as a JSON number
    if value is None or value == "":
        raise _Invalid(RejectReason.MISSING_FIELD, f"{label} is missing")
    if not isinstance(value, str):
        raise _Invalid(RejectReason.WRONG_TYPE, f"{label} must be a string")
    if not _SAFE_ID.fullmatch(value) or ".." in value or value == ".":
        raise _Invalid(RejectReason.UNSAFE_ID, f"{label} {value[:64]!r}")
    return value


def _optional(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
        raise _Invalid(RejectReason.WRONG_TYPE, f"{key} must be a string of at most "
                       f"{MAX_ID_LENGTH} characters")
    return value


def _true(value: object) -> bool:
    """CXone's booleans are the strings "True" / "False" (JSON booleans accepted too)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _seconds(value: object) -> float | None:
    """``AcwTimeout``: whole seconds, as a string or a number; unreadable or 0: none."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value) if isinstance(value, int | float | str) else 0.0
    except ValueError:
        return None
    return seconds if 0 < seconds < 86_400 * 7 else None


def _time(value: object, label: str) -> float:
    """Epoch seconds from CXone's ISO-8601 UTC strings (``2026-11-25T10:00:00.000Z``)."""
    if not isinstance(value, str) or not value:
        raise _Invalid(RejectReason.MISSING_FIELD if value in (None, "") else
                       RejectReason.WRONG_TYPE, f"{label} must be an ISO-8601 string")
    return iso_seconds(value, label, _MAX_EPOCH_SECONDS)
