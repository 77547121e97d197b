"""Which notification topics the Genesys profile reads, and what each one is.

From the SDK's ``notificationMappings.json`` and topic models
(platform-client-sdk-python ``build/docs``):

=================================================  ============================================
``v2.users.{id}.conversations.{media}``            flat participants (``state``, ``wrapupRequired``,
``v2.routing.queues.{id}.conversations.{media}``   ``startAcwTime``, ``wrapup``, ...), no
                                                   communication ID
                                                   (``ConversationCallEventTopicCallConversation``
                                                   for calls)
``v2.users.{id}.conversations``                    participants with ``calls[]`` etc. (the
                                                   communication ``id``, ``afterCallWork.state``)
                                                   (``ConversationEventTopicConversation``)
``v2.detail.events.conversation.{id}.user.end``    a user's communication ended
``v2.detail.events.conversation.{id}.acw``         after-call work *finished* (with a code)
``v2.detail.events.conversation.{id}.wrapup``      a wrap-up code was set
=================================================  ============================================

``{media}`` is the API's path segment (calls, callbacks, chats, emails, messages); the
detail events name it in upper case (``VOICE`` is ``calls``). Any other topic says
nothing the join needs. There is no ``v2.conversations.calls.{id}`` topic.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

MEDIA = ("calls", "callbacks", "chats", "emails", "messages")
DETAIL_MEDIA = {"VOICE": "calls", "CALLBACK": "callbacks", "CHAT": "chats",
                "EMAIL": "emails", "MESSAGE": "messages"}
_MEDIA = "|".join(MEDIA)
_FLAT = re.compile(rf"v2\.(?:users|routing\.queues)\.[^.]+\.conversations\.({_MEDIA})")
_CONVERSATION = re.compile(r"v2\.users\.[^.]+\.conversations")
_DETAIL = re.compile(r"v2\.detail\.events\.conversation\.([^.]+)\.(user\.end|acw|wrapup)")


class Kind(enum.Enum):
    """The shape of a topic's event body."""

    FLAT = "flat"  # one media's conversation, flat participants
    CONVERSATION = "conversation"  # every media, communications per participant
    USER_END = "user.end"
    ACW = "acw"
    WRAPUP = "wrapup"


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic the profile reads: its kind, and its media segment (FLAT only)."""

    kind: Kind
    media: str | None = None


def topic_of(name: str) -> Topic | None:
    """What ``name`` is, or None for a topic the profile does not read."""
    if m := _FLAT.fullmatch(name):
        return Topic(Kind.FLAT, m.group(1))
    if _CONVERSATION.fullmatch(name):
        return Topic(Kind.CONVERSATION)
    if m := _DETAIL.fullmatch(name):
        return Topic(Kind(m.group(2)))
    return None
