"""The Genesys profile's events side: one bridge record, its agent legs' events.

:func:`~.envelope.unwrap` reads either envelope, :func:`~.topics.topic_of` says which
shape the body has, and :mod:`.legs` / :mod:`.detail` derive the events (several for
several legs; none for a topic or participant the join does not need). Anything
malformed is a :class:`~streams.events.Rejection`; ``decode`` never raises. The Kafka
record key is the conversation ID, so every leg of a conversation lands on one partition.
"""

from __future__ import annotations

from streams.events import Event, Rejection, RejectReason
from streams.platforms.base import Decoded, RawValue
from streams.platforms.genesys.detail import detail_events
from streams.platforms.genesys.envelope import Invalid, unwrap
from streams.platforms.genesys.legs import conversation_events, flat_events
from streams.platforms.genesys.topics import Kind, topic_of


class GenesysEvents:
    """Notification-API payloads and EventBridge events, as canonical per-leg events."""

    def decode(self, raw: RawValue) -> Decoded:
        try:
            return tuple(_decode(raw))
        except Invalid as exc:
            return exc.rejection
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:  # belt and braces
            return Rejection(RejectReason.WRONG_TYPE, f"unreadable payload: {type(exc).__name__}")


def _decode(raw: RawValue) -> list[Event]:
    record = unwrap(raw)
    topic = topic_of(record.topic)
    if topic is None:
        return []
    if topic.kind is Kind.FLAT:
        assert topic.media is not None
        return flat_events(record, topic.media)
    if topic.kind is Kind.CONVERSATION:
        return conversation_events(record)
    return detail_events(record, topic.kind)
