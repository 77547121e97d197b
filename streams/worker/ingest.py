"""Ingest: a source record becomes canonical events, or a counted dead letter.

The platform's events side (:mod:`streams.platforms`) decodes; this module counts, checks
the record key, dead-letters what is rejected (never crashing the worker) and, for an
unkeyed events topic, copies valid events to the internal topic keyed by interaction.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from streams import metrics
from streams.events import Event, Rejection
from streams.platforms import EventsSide
from streams.worker.tracking import AckTracker

log = logging.getLogger("wrapup.worker")


class Where(NamedTuple):
    """The source partition of a record (for dead-letter headers and logs)."""

    topic: str
    partition: int


class Ingest:
    """Decode, validate and dead-letter source records; re-key an unkeyed topic."""

    def __init__(self, events: EventsSide, tracker: AckTracker, dead_letter_topic: Any,
                 *, check_keys: bool, rekeyed_topic: Any = None) -> None:
        self.events = events
        self.tracker = tracker
        self.dead_letter_topic = dead_letter_topic
        self.check_keys = check_keys  # the source is keyed by interaction ID
        self.rekeyed_topic = rekeyed_topic

    async def decode(self, where: Where, value: bytes | None,
                     key: bytes | None = None) -> tuple[Event, ...]:
        """The record's events (none when rejected, dead-lettered, or ignorable)."""
        decoded = self.events.decode(value)
        if isinstance(decoded, Rejection):
            metrics.EVENTS.labels("invalid", "rejected").inc()
            await self.dead_letter(where, value, decoded.reason.value, decoded.detail)
            return ()
        if not decoded:
            metrics.child(metrics.EVENTS, "other", "ignored").inc()
            return ()
        if self.check_keys and key is not None:
            wrong = [e for e in decoded if key != e.interaction_id.encode()]
            if wrong:
                metrics.EVENTS.labels(wrong[0].type.value, "rejected").inc()
                await self.dead_letter(where, value, "key_mismatch",
                                       "record key is not the interaction ID")
                return ()
        for event in decoded:
            metrics.child(metrics.EVENTS, event.type.value, "accepted").inc()
        return decoded

    async def dead_letter(self, where: Where, value: bytes | None, reason: str,
                          detail: str) -> None:
        """Count a rejected record and write it to the dead-letter topic (tracked)."""
        metrics.EVENTS_REJECTED.labels(reason).inc()
        metrics.DEAD_LETTERS.labels("event", reason).inc()
        log.warning("event rejected", extra={"reason": reason, "detail": detail,
                                             "topic": where.topic, "partition": where.partition})
        await self.tracker.send(
            self.dead_letter_topic,
            value=value or b"",
            headers={
                "wrapup-kind": b"event",
                "wrapup-reason": reason.encode(),
                "wrapup-detail": detail[:500].encode(),
                "wrapup-source": f"{where.topic}/{where.partition}".encode(),
            },
        )

    async def forward(self, where: Where, value: bytes | None) -> None:
        """Re-key agent: copy a valid record to the internal topic keyed by interaction
        (commits wait for the copy's ack)."""
        events = await self.decode(where, value)
        if events:  # one copy per record: the join decodes all its events again
            await self.tracker.send(self.rekeyed_topic,
                                    key=events[0].interaction_id.encode(), value=value)

    async def forward_record(self, record: Any) -> None:
        """:meth:`forward` for a record read to fill a hole."""
        await self.forward(Where(record.topic, record.partition), record.value)
