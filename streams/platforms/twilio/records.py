"""The shapes a TaskRouter event arrives in on the bridge topic, read into one field map.

Accepted record values (see the fixtures under ``tests/platforms/twilio/fixtures/``):

1. **Event callback as JSON**: the Workspace ``EventCallbackUrl`` POST's form fields
   turned into a flat JSON object by the bridge, names as documented
   (``{"EventType": "task.wrapup", "TaskSid": "WT...", "TimestampMs": "...", ...}``);
   values are strings as posted (numbers are accepted too).
2. **Event callback as posted**: the ``application/x-www-form-urlencoded`` body itself
   (``EventType=task.wrapup&TaskSid=WT...``), forwarded unchanged.
3. **Event Streams CloudEvents**: ``{"specversion": "1.0", "type":
   "com.twilio.taskrouter.task.wrapup", "id": ..., "time": ..., "data": {...}}``, or a
   JSON array of them (a webhook sink delivers batches). ``data`` keys are matched to
   the callback's names ignoring case and underscores (``task_sid`` is ``TaskSid``); the
   event type is the CloudEvent ``type`` without its ``com.twilio.taskrouter.`` prefix.

:func:`field_maps` returns one :class:`Fields` per TaskRouter event in the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson

CLOUDEVENT_PREFIX = "com.twilio.taskrouter."
MAX_BATCH = 100  # CloudEvents in one record


class RecordError(Exception):
    """The record is not one of the accepted shapes (``kind``: a RejectReason value)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class Fields:
    """One event's fields, looked up by callback name, case- and underscore-blind."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = {_norm(k): v for k, v in values.items() if isinstance(k, str)}

    def get(self, name: str) -> Any:
        return self._values.get(_norm(name))

    def text(self, name: str) -> str | None:
        """The field as a non-empty string (numbers as their decimal text), else None."""
        value = self.get(name)
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return repr(value) if isinstance(value, float) else str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
        return None

    def with_defaults(self, **defaults: Any) -> Fields:
        """These fields, with ``defaults`` for the names that are missing."""
        merged = dict(self._values)
        for name, value in defaults.items():
            if value is not None:
                merged.setdefault(_norm(name), value)
        fields = Fields({})
        fields._values = merged
        return fields


def field_maps(raw: bytes | str) -> list[Fields]:
    """The events in one record value (raises :class:`RecordError`)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    head = text.lstrip()[:1]
    if head not in ("{", "[", "\""):
        return [_form(text)]
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RecordError("not_json", f"invalid JSON: {exc}") from None
    if isinstance(doc, list):
        if len(doc) > MAX_BATCH:
            raise RecordError("too_large", f"{len(doc)} CloudEvents > {MAX_BATCH}")
        return [_cloudevent(item) for item in doc]
    if not isinstance(doc, dict):
        raise RecordError("not_object", f"top level is {type(doc).__name__}")
    if "specversion" in doc or (isinstance(doc.get("data"), dict) and "type" in doc):
        return [_cloudevent(doc)]
    return [Fields(doc)]


def _form(text: str) -> Fields:
    if "=" not in text:
        raise RecordError("not_json", "neither JSON nor a form-encoded event callback")
    try:
        pairs = parse_qsl(text.strip(), keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise RecordError("not_json", "malformed form-encoded event callback") from None
    return Fields(dict(pairs))


def _cloudevent(doc: Any) -> Fields:
    if not isinstance(doc, dict):
        raise RecordError("not_object", f"a CloudEvent is {type(doc).__name__}")
    data, kind = doc.get("data"), doc.get("type")
    if not isinstance(data, dict):
        raise RecordError("missing_field", "CloudEvent without a data object")
    if not isinstance(kind, str):
        raise RecordError("missing_field", "CloudEvent without a type")
    event_type = kind[len(CLOUDEVENT_PREFIX):] if kind.startswith(CLOUDEVENT_PREFIX) else kind
    # The envelope's type is authoritative; its id and time stand in for the data's own.
    fields = Fields(data)
    fields._values[_norm("EventType")] = event_type
    return fields.with_defaults(Sid=doc.get("id"), Timestamp=doc.get("time"))


def _norm(name: str) -> str:
    return name.replace("_", "").lower()
