"""Amazon Connect contact events (EventBridge) as canonical events; never raises.

A record is the EventBridge envelope as a rule target forwards it (``source:
aws.connect``, ``detail-type: Amazon Connect Contact Event``, the contact in ``detail``),
or the bare ``detail`` when the bridge forwards only that (an input transformer). Per the
contact events page of the Amazon Connect Administrator Guide:

* ``DISCONNECTED`` with an agent (``agentInfo``) ends the agent's leg, and after-contact
  work begins: one record, two events, **ended** and **wrapping-up**. A contact without
  an agent (abandoned in queue, flow only) has no leg to wrap: nothing.
* ``COMPLETED`` comes when the contact is done, after ACW if there was one
  (``agentInfo.afterContactWork*Timestamp`` filled in). It gives the same two events
  again: duplicates for the join, but the pair is still made when the DISCONNECTED event
  was lost (EventBridge delivery is best effort, and not ordered). It is *not* a
  "wrapped" signal: ACW ending says nothing of whether anyone set the attribute, and
  ``UpdateContactAttributes`` accepts completed contacts. "Already wrapped" is found by
  read-back only (:mod:`.api`).
* Every other event type (INITIATED, QUEUED, CONNECTED_TO_AGENT, CONTACT_DATA_UPDATED,
  types added later) and other ``aws.connect`` detail types: nothing.

Legs: a transfer creates a new contact (its own ``contactId``, its own agent, ACW and
contact record) with the same ``initialContactId``. The interaction is the initial
contact; the leg is the contact itself, so ``leg_id`` is the ``contactId`` when it
differs from the initial one (a contact never transferred keys as a one-leg
interaction). The queue is the queue ID from ``queueInfo.queueArn``, the agent the user
ID from ``agentInfo.agentArn``; the channel (VOICE, CHAT, TASK, EMAIL) is the media type.
Key case is read leniently: the documentation's samples write both ``agentInfo`` /
``agentArn`` and ``AgentInfo`` / ``AgentArn``.
"""

from __future__ import annotations

import re
from typing import Any

from streams.events import Event, EventType, Rejection, RejectReason
from streams.platforms.base import Decoded, RawValue
from streams.platforms.records import InvalidRecord as _Invalid
from streams.platforms.records import iso_seconds, load_json_object

SOURCE = "aws.connect"
DETAIL_TYPE = "Amazon Connect Contact Event"
MAX_RECORD_BYTES = 256 * 1024  # an EventBridge event's maximum size
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")  # contact IDs (UUIDs): safe in a URL path and a key
_MAX_EPOCH_SECONDS = 1e11
_LEG_EVENTS = frozenset({"DISCONNECTED", "COMPLETED"})


class ConnectEvents:
    """EventBridge contact events: zero or two events per record (see the module doc)."""

    def decode(self, raw: RawValue) -> Decoded:
        try:
            return _decode(raw)
        except _Invalid as exc:
            return Rejection(exc.reason, exc.detail)
        except (ValueError, TypeError, OverflowError) as exc:  # defensive: never raise
            return Rejection(RejectReason.WRONG_TYPE, f"unreadable field: {type(exc).__name__}")


def _decode(raw: RawValue) -> Decoded:
    doc = load_json_object(raw, MAX_RECORD_BYTES)
    envelope_id: str | None = None
    envelope_time: float | None = None
    if "detail" in doc:
        source = doc.get("source")
        if source != SOURCE:
            raise _Invalid(RejectReason.UNKNOWN_TYPE, f"unknown source {str(source)[:64]!r}")
        if doc.get("detail-type") != DETAIL_TYPE:
            return ()  # Contact Lens, rules, ...: nothing the join needs
        detail = doc["detail"]
        if not isinstance(detail, dict):
            raise _Invalid(RejectReason.WRONG_TYPE, "detail must be an object")
        raw_id = doc.get("id")
        envelope_id = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= 64 else None
        envelope_time = _time(doc.get("time"), "time")
    elif _get(doc, "eventType") is not None:
        detail = doc
    else:
        raise _Invalid(RejectReason.MISSING_FIELD, "neither an EventBridge envelope nor a "
                       "contact event (no detail, no eventType)")
    return _contact_events(detail, envelope_id, envelope_time)


def _contact_events(detail: dict[str, Any], envelope_id: str | None,
                    envelope_time: float | None) -> Decoded:
    event_type = _get(detail, "eventType")
    if not isinstance(event_type, str):
        raise _Invalid(RejectReason.WRONG_TYPE, "detail.eventType must be a string")
    if event_type.upper() not in _LEG_EVENTS:
        return ()
    event_type = event_type.upper()
    contact_id = _contact_id(detail, "contactId", required=True)
    assert contact_id is not None
    initial_id = _contact_id(detail, "initialContactId", required=False) or contact_id
    agent = _get(detail, "agentInfo")
    if agent is None:
        return ()  # no agent on the contact: no leg to wrap
    if not isinstance(agent, dict):
        raise _Invalid(RejectReason.WRONG_TYPE, "detail.agentInfo must be an object")
    agent_id = _arn_id(_get(agent, "agentArn"), "agent", "detail.agentInfo.agentArn")
    if agent_id is None:
        return ()
    queue = _get(detail, "queueInfo")
    queue_id = None
    if isinstance(queue, dict):
        queue_id = _arn_id(_get(queue, "queueArn"), "queue", "detail.queueInfo.queueArn")
    elif queue is not None:
        raise _Invalid(RejectReason.WRONG_TYPE, "detail.queueInfo must be an object")
    channel = _get(detail, "channel")
    media_type = channel.lower()[:32] if isinstance(channel, str) and channel else None

    ended_at = _time(_get(detail, "disconnectTimestamp"), "detail.disconnectTimestamp")
    ended_at = ended_at or envelope_time
    if ended_at is None:
        raise _Invalid(RejectReason.MISSING_FIELD, "no time: neither time nor "
                       "detail.disconnectTimestamp")
    acw_at = _time(_get(agent, "afterContactWorkStartTimestamp"),
                   "detail.agentInfo.afterContactWorkStartTimestamp") or ended_at
    base = envelope_id or f"{contact_id}:{event_type}"
    leg_id = contact_id if contact_id != initial_id else None
    common = (initial_id, agent_id, queue_id, leg_id, media_type)
    return (_event(f"{base}:ended", EventType.ENDED, ended_at, common),
            _event(f"{base}:wrapping-up", EventType.WRAPPING_UP, acw_at, common))


def _event(event_id: str, kind: EventType, at: float,
           common: tuple[str, str, str | None, str | None, str | None]) -> Event:
    interaction_id, agent_id, queue_id, leg_id, media_type = common
    return Event(event_id=event_id, type=kind, interaction_id=interaction_id,
                 occurred_at=at, agent_id=agent_id, queue_id=queue_id,
                 leg_id=leg_id, media_type=media_type)


def _get(obj: dict[str, Any], key: str) -> Any:
    """``obj[key]``, else the same key with its first letter upper case, else any key
    equal to it ignoring case (``AgentARN``)."""
    value = obj.get(key)
    if value is not None:
        return value
    value = obj.get(key[0].upper() + key[1:])
    if value is not None:
        return value
    lower = key.lower()
    for name, candidate in obj.items():
        if isinstance(name, str) and name.lower() == lower:
            return candidate
    return None


def _contact_id(detail: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = _get(detail, key)
    if value is None or value == "":
        if required:
            raise _Invalid(RejectReason.MISSING_FIELD, f"detail.{key} is missing")
        return None
    if not isinstance(value, str):
        raise _Invalid(RejectReason.WRONG_TYPE, f"detail.{key} must be a string")
    if not _ID.fullmatch(value):
        raise _Invalid(RejectReason.UNSAFE_ID, f"detail.{key} {value[:64]!r}")
    return value


def _arn_id(value: Any, kind: str, label: str) -> str | None:
    """The resource ID at the end of an ARN (``.../agent/<id>``), or the value itself when
    it is a plain ID; None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Invalid(RejectReason.WRONG_TYPE, f"{label} must be a string")
    marker = f"/{kind}/"
    resource = value.rsplit(marker, 1)[1] if marker in value else value
    if not 0 < len(resource) <= 128:
        raise _Invalid(RejectReason.WRONG_TYPE, f"{label} has no {kind} ID")
    return resource


def _time(value: Any, label: str) -> float | None:
    """Epoch seconds from an ISO-8601 timestamp (Connect's format); None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Invalid(RejectReason.WRONG_TYPE, f"{label} must be an ISO-8601 string")
    return iso_seconds(value, label, _MAX_EPOCH_SECONDS)
