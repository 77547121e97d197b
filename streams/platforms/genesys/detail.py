"""Analytics detail events: ``v2.detail.events.conversation.{id}.user.end`` / ``.acw`` /
``.wrapup`` (``UserEndDetailEventTopicUserEndEvent``,
``AcwDetailEventTopicAfterCallWorkEvent``, ``WrapupDetailEventTopicWrapupEvent``).

One participant each (``participantId``; ``sessionId`` is the communication). ``user.end``
is *ended*; ``.acw`` fires when the agent *finishes* after-call work with a code, so it
means *wrapped*, as does ``.wrapup``. ``eventTime`` is epoch milliseconds; ``mediaType``
is upper case (``VOICE`` is the ``calls`` path segment); a medium without a wrap-up
endpoint (cobrowse, screenshare, video) yields nothing. Pure.
"""

from __future__ import annotations

from streams.events import Event, EventType, RejectReason
from streams.platforms.genesys.envelope import (
    Invalid,
    Record,
    event_id,
    optional_id,
    safe_id,
    time_of,
)
from streams.platforms.genesys.legs import wrapped_by
from streams.platforms.genesys.topics import DETAIL_MEDIA, Kind


def detail_events(record: Record, kind: Kind) -> list[Event]:
    body = record.body
    media_name = body.get("mediaType")
    if not isinstance(media_name, str):
        raise Invalid(RejectReason.MISSING_FIELD, "eventBody.mediaType is missing")
    media = DETAIL_MEDIA.get(media_name.upper())
    if media is None:
        return []
    conversation = safe_id(body.get("conversationId"), "eventBody.conversationId")
    leg = safe_id(body.get("participantId"), "eventBody.participantId")
    session = body.get("sessionId")
    communication = safe_id(session, "eventBody.sessionId") if session else None
    at = time_of(body.get("eventTime"), "eventBody.eventTime")
    if at is None:
        raise Invalid(RejectReason.MISSING_FIELD, "eventBody.eventTime is missing")
    ended = kind is Kind.USER_END
    code = None if ended else optional_id(body.get("wrapupCode"), "eventBody.wrapupCode")
    event_type = EventType.ENDED if ended else EventType.WRAPPED
    return [Event(
        event_id=event_id(record, leg, event_type.value), type=event_type,
        interaction_id=conversation, occurred_at=at,
        agent_id=optional_id(body.get("userId"), "eventBody.userId"),
        queue_id=optional_id(body.get("queueId"), "eventBody.queueId"),
        wrapup_code_id=code, wrapped_by=None if ended else wrapped_by(code),
        leg_id=leg, communication_id=communication, media_type=media)]
