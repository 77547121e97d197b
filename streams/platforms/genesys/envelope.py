"""One bridge record, unwrapped: a notification or an EventBridge event, as a :class:`Record`.

Two shapes carry the same notification (Genesys "Notifications" and "Amazon EventBridge
integration" docs; the Genesys EventBridge blueprint samples)::

    {"topicName": "v2.users.<id>.conversations.calls", "version": "2",
     "eventBody": {...}, "metadata": {"CorrelationId": "..."}}

    {"version": "0", "id": "...", "detail-type": "v2.users.{id}.conversations.calls",
     "source": "aws.partner/genesys.com/cloud/<org>/<suffix>", "time": "...",
     "detail": {"topicName": "v2.users.<id>.conversations.calls", "version": "2",
                "timestamp": "2026-11-25T10:00:00.120Z", "eventBody": {...},
                "metadata": {"CorrelationId": "..."}}}

``detail-type`` is the topic *pattern*; the concrete topic is ``detail.topicName``. Also
here: the small readers (IDs safe for a URL path, ISO-8601 / epoch-ms times) and the
deterministic event IDs. Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from streams.events import MAX_ID_LENGTH, Rejection, RejectReason

MAX_RECORD_BYTES = 512 * 1024  # a conversation with many participants and attributes
_SAFE_ID = re.compile(r"[A-Za-z0-9_\-:.]{1,128}")
_MAX_EPOCH_SECONDS = 1e11


class Invalid(Exception):
    """A record that is not usable; becomes a :class:`~streams.events.Rejection`."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.rejection = Rejection(reason, detail)


@dataclass(frozen=True, slots=True)
class Record:
    """A notification, whichever envelope it came in."""

    topic: str
    body: dict[str, Any]
    digest: str  # of (topic, body): the same notification twice has the same digest
    timestamp: float | None  # the envelope's time (epoch seconds), if it has one
    correlation_id: str | None = None


def unwrap(raw: bytes | bytearray | memoryview | str | None) -> Record:
    """The notification in ``raw``; raises :class:`Invalid`."""
    if raw is None:
        raise Invalid(RejectReason.NOT_JSON, "empty message")
    size = len(raw.encode(errors="surrogatepass")) if isinstance(raw, str) else len(raw)
    if size > MAX_RECORD_BYTES:
        raise Invalid(RejectReason.TOO_LARGE, f"{size} bytes > {MAX_RECORD_BYTES}")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid(RejectReason.NOT_JSON, f"invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise Invalid(RejectReason.NOT_OBJECT, f"top level is {type(doc).__name__}")
    timestamp = None
    if "detail" in doc or "detail-type" in doc:
        detail = doc.get("detail")
        if not isinstance(detail, dict):
            raise Invalid(RejectReason.MISSING_FIELD, "detail must be an object")
        timestamp = time_of(detail.get("timestamp"), "detail.timestamp")
        if timestamp is None:
            timestamp = time_of(doc.get("time"), "time")
        doc = detail
    topic = doc.get("topicName")
    if not isinstance(topic, str) or not topic:
        raise Invalid(RejectReason.MISSING_FIELD, "topicName is missing")
    body = doc.get("eventBody")
    if not isinstance(body, dict):
        raise Invalid(RejectReason.MISSING_FIELD, "eventBody must be an object")
    metadata = doc.get("metadata")
    correlation = metadata.get("CorrelationId") if isinstance(metadata, dict) else None
    return Record(topic[:256], body, _digest(topic, body), timestamp,
                  correlation if isinstance(correlation, str) else None)


def _digest(topic: str, body: dict[str, Any]) -> str:
    try:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        canonical = repr(body).encode(errors="replace")
    return hashlib.blake2b(topic.encode(errors="replace") + b"\0" + canonical,
                           digest_size=8).hexdigest()


def event_id(record: Record, leg: str, kind: str) -> str:
    """Deterministic per (record, participant, event type): duplicates dedupe."""
    value = f"gc-{record.digest}:{leg}:{kind}"
    if len(value) <= MAX_ID_LENGTH:
        return value
    return "gc-" + hashlib.blake2b(value.encode(), digest_size=16).hexdigest()


def safe_id(value: object, label: str) -> str:
    """An ID that can go into a URL path as is (the bridge's rule for interaction IDs)."""
    if not isinstance(value, str) or not value:
        raise Invalid(RejectReason.MISSING_FIELD, f"{label} is missing")
    if not _SAFE_ID.fullmatch(value) or ".." in value or value == ".":
        raise Invalid(RejectReason.UNSAFE_ID, f"{label} {value[:64]!r}")
    return value


def optional_id(value: object, label: str) -> str | None:
    """A plain reference (user, queue, code): a short string, or None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid(RejectReason.WRONG_TYPE, f"{label} must be a string")
    if len(value) > MAX_ID_LENGTH:
        raise Invalid(RejectReason.WRONG_TYPE, f"{label} is longer than {MAX_ID_LENGTH}")
    return value


def ref_id(value: object, label: str) -> str | None:
    """The ``id`` of a ``{"id": ..., "selfUri": ...}`` reference (or a plain string)."""
    if isinstance(value, dict):
        return optional_id(value.get("id"), f"{label}.id")
    return optional_id(value, label)


def time_of(value: object, label: str) -> float | None:
    """Epoch seconds from an ISO-8601 string or epoch milliseconds; None when absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise Invalid(RejectReason.WRONG_TYPE, f"{label} must be a time")
    if isinstance(value, int | float):
        seconds = float(value) / 1000.0
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            aware = parsed.tzinfo is not None
            seconds = parsed.timestamp() if aware else 0.0
        except (ValueError, OverflowError):
            raise Invalid(RejectReason.BAD_TIMESTAMP, f"{label} is not ISO-8601") from None
        if not aware:
            raise Invalid(RejectReason.BAD_TIMESTAMP, f"{label} has no time zone")
    else:
        raise Invalid(RejectReason.WRONG_TYPE, f"{label} must be a time")
    if not 0 < seconds < _MAX_EPOCH_SECONDS:
        raise Invalid(RejectReason.BAD_TIMESTAMP, f"{label} out of range")
    return seconds
