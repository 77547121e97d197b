"""The twilio dialect's events side: TaskRouter events as canonical events, per task.

**The unit is the task.** A TaskRouter task is one worker's piece of work, so the task
SID (``WT...``) is both the interaction ID and the whole key (no leg ID): the bridge
keys its records by ``TaskSid``. A Flex transfer creates a *new* task for the receiving
worker while the first one goes to ``wrapping`` for the transferring worker: two tasks,
two wrap-ups, each matched by the policy against its own queue. (Flex's
``conversations.conversation_id`` attribute ties them together for reporting; the
bridge does not need it.)

**Signals** (TaskRouter event reference; lifecycle of a task):

=============================================  ==========================================
``task.wrapup``, ``reservation.wrapup``,       ENDED and WRAPPING_UP (two events)
``task.updated`` with status ``wrapping``
``task.completed``, ``task.updated`` with      WRAPPED: code = ``TaskCompletedReason``
status ``completed``
any other type (created, reservation.*, ...)   nothing (the join needs none of them)
=============================================  ==========================================

Why wrapping counts as ended too: a task reaches ``wrapping`` only once its work is
over (Flex moves a voice task there when the call ends), and TaskRouter *accepts*
completing a task that is still ``assigned`` — it would cut the agent's work short.
So the bridge must never complete a task before ``wrapping``, and it never does: the
only signal of the conversation's end it trusts is the move to ``wrapping``.

**Who completed it**: completions are API calls (the Flex UI, a plugin, a Studio flow
or this bridge), so ``wrapped_by`` is ``api`` when a reason is given (the join tells its
own echo by the code), ``agent`` / ``platform`` when an actor type says a worker / the
system did it (Event resource ``actor_type``), else unknown.

Queue: ``TaskQueueSid`` or ``TaskQueueName`` (``WRAPUP_TWILIO_QUEUE_FIELD``); agent:
``WorkerSid``; campaign: a dotted path into ``TaskAttributes``
(``WRAPUP_TWILIO_CAMPAIGN_ATTRIBUTE``). Time: ``TimestampMs`` (epoch ms), else
``Timestamp`` (epoch seconds or ISO-8601, as Event Streams sends it).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from streams.events import MAX_EVENT_BYTES, Event, EventType, Rejection, RejectReason
from streams.platforms.base import Decoded, RawValue
from streams.platforms.twilio.records import Fields, RecordError, field_maps

TASK_SID = re.compile(r"WT[0-9a-fA-F]{32}")
MAX_TEXT = 256  # queue names, campaign values, reasons
_WRAPUP_TYPES = frozenset({"task.wrapup", "reservation.wrapup"})
_ACTORS = {"worker": "agent", "workspace": "platform", "system": "platform"}
_MIN_EPOCH, _MAX_EPOCH = 1.0, 1e11  # seconds: after the epoch, before the year 5138


class TwilioEvents:
    """TaskRouter event records (callback JSON, form body or CloudEvents) as events."""

    def __init__(self, queue_field: str = "sid",
                 campaign_path: tuple[str, ...] = ("campaign",)) -> None:
        self.queue_name = "TaskQueueName" if queue_field == "name" else "TaskQueueSid"
        self.campaign_path = campaign_path

    def decode(self, raw: RawValue) -> Decoded:
        try:
            return self._decode(raw)
        except RecordError as exc:
            return Rejection(RejectReason(exc.kind), exc.detail)
        except Exception as exc:  # never raise: a record we cannot read is rejected
            return Rejection(RejectReason.WRONG_TYPE, f"unreadable record: {type(exc).__name__}")

    def _decode(self, raw: RawValue) -> Decoded:
        if raw is None:
            return Rejection(RejectReason.NOT_JSON, "empty message")
        data = bytes(raw) if isinstance(raw, bytearray | memoryview) else raw
        size = len(data.encode(errors="surrogatepass")) if isinstance(data, str) else len(data)
        if size > MAX_EVENT_BYTES:
            return Rejection(RejectReason.TOO_LARGE, f"{size} bytes > {MAX_EVENT_BYTES}")
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        events: list[Event] = []
        for fields in field_maps(data):
            decoded = self._one(fields)
            if isinstance(decoded, Rejection):
                return decoded
            events.extend(decoded)
        return tuple(events)

    def _one(self, fields: Fields) -> tuple[Event, ...] | Rejection:
        kind = fields.text("EventType")
        if kind is None:
            return Rejection(RejectReason.MISSING_FIELD, "EventType is missing")
        status = fields.text("TaskAssignmentStatus")
        if kind == "task.updated":
            kind = {"wrapping": "task.wrapup", "completed": "task.completed"}.get(status or "",
                                                                                  kind)
        if kind not in _WRAPUP_TYPES and kind != "task.completed":
            return ()
        task = fields.text("TaskSid")
        if task is None:
            return Rejection(RejectReason.MISSING_FIELD, f"{kind} without TaskSid")
        if not TASK_SID.fullmatch(task):
            return Rejection(RejectReason.UNSAFE_ID, f"TaskSid {task[:40]!r} is not WT + 32 hex")
        when = _occurred_at(fields)
        if isinstance(when, Rejection):
            return when
        event_id = fields.text("Sid") or f"{kind}:{task}:{int(when * 1000)}"
        context = self._context(fields)
        if kind == "task.completed":
            reason = fields.text("TaskCompletedReason") or fields.text("Reason")
            code = reason if reason is not None and len(reason) <= MAX_TEXT else None
            return (Event(event_id[:128], EventType.WRAPPED, task, when, *context,
                          None, code, _wrapped_by(fields, reason)),)
        return (
            Event(f"{event_id[:120]}:ended", EventType.ENDED, task, when, *context),
            Event(f"{event_id[:120]}:wrapup", EventType.WRAPPING_UP, task, when, *context),
        )

    def _context(self, fields: Fields) -> tuple[str | None, str | None, str | None]:
        """(agent, queue, campaign), each a bounded string or None."""
        agent = _bounded(fields.text("WorkerSid"))
        queue = _bounded(fields.text(self.queue_name))
        return agent, queue, _bounded(_campaign(fields.get("TaskAttributes"),
                                                self.campaign_path))


def _wrapped_by(fields: Fields, reason: str | None) -> str | None:
    actor = fields.text("ActorType")
    if actor is not None and actor.lower() in _ACTORS:
        return _ACTORS[actor.lower()]
    return "api" if reason is not None else None


def _campaign(attributes: Any, path: tuple[str, ...]) -> str | None:
    if isinstance(attributes, str | bytes):
        try:
            attributes = orjson.loads(attributes)
        except orjson.JSONDecodeError:
            return None
    node = attributes
    for segment in path:
        if not isinstance(node, dict):
            return None
        node = node.get(segment)
    if isinstance(node, bool):
        return None
    if isinstance(node, int):
        return str(node)
    return node if isinstance(node, str) and node else None


def _bounded(value: str | None) -> str | None:
    return value if value is not None and len(value) <= MAX_TEXT else None


def _occurred_at(fields: Fields) -> float | Rejection:
    """Epoch seconds from ``TimestampMs``, else ``Timestamp`` (seconds or ISO-8601)."""
    for name, scale in (("TimestampMs", 1000.0), ("Timestamp", 1.0)):
        text = fields.text(name)
        if text is None:
            continue
        seconds = _number(text, scale)
        if seconds is not None and scale == 1.0 and seconds >= _MAX_EPOCH:
            seconds /= 1000.0  # a bridge that wrote milliseconds into Timestamp
        if seconds is None and scale == 1.0:
            seconds = _iso(text)
        if seconds is None or not _MIN_EPOCH <= seconds < _MAX_EPOCH:
            return Rejection(RejectReason.BAD_TIMESTAMP, f"{name} {text[:40]!r} is not a time")
        return seconds
    return Rejection(RejectReason.MISSING_FIELD, "neither TimestampMs nor Timestamp")


def _number(text: str, scale: float) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return value / scale


def _iso(text: str) -> float | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None  # a time without a zone is ambiguous
    return when.timestamp()
