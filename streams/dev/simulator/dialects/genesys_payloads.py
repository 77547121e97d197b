"""The Genesys mode's event payloads, built from the platform's state at a moment.

Shapes as the Genesys profile reads them (and as the SDK's topic models describe them;
see :mod:`streams.platforms.genesys.topics`): the flat ``v2.users.{id}.conversations.calls``
notification (or its ``v2.routing.queues.{id}`` twin), the ``v2.users.{id}.conversations``
one with the communication and ``afterCallWork``, and the detail events ``user.end`` /
``acw``; each as a notification (``topicName``, ``eventBody``, ``metadata``) or inside an
EventBridge envelope (``detail-type`` the topic pattern). Every participant of the
conversation is shown at its state then: the customer, each agent leg, and agents that
need no wrap-up (``wrapupRequired`` false). Pure: state in, bytes out.
"""

from __future__ import annotations

import uuid
import zlib
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.dev.simulator.dialects.genesys_plan import communication_of
from streams.dev.simulator.lifecycle import State
from streams.dev.simulator.platform import Platform
from streams.dev.simulator.workload import LegPlan, PlannedInteraction
from streams.events import split_leg_key

_NS = uuid.UUID("5d2f0c4e-9a8b-4c7d-8e6f-1a2b3c4d5e6f")
ORG = "11111111-2222-3333-4444-555555555555"


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _ref(kind: str, value: str) -> dict[str, str]:
    return {"id": value, "selfUri": f"/api/v2/{kind}/{value}"}


class Snapshot:
    """One conversation at one moment: its participants in both notification shapes."""

    def __init__(self, platform: Platform, plan: PlannedInteraction, at: float) -> None:
        assert plan.leg is not None
        self.platform, self.leg, self.at = platform, plan.leg, at

    def _legs(self) -> list[tuple[str, State]]:
        out: list[tuple[str, State]] = []
        for key in self.leg.siblings:
            if key in self.platform:
                state = self.platform.lifecycle(key).state_at(self.at)
                if state is not State.ABSENT:
                    out.append((key, state))
        return out

    def _customer(self, legs: list[tuple[str, State]]) -> dict[str, Any]:
        gone = len(legs) == len(self.leg.siblings) and all(
            s is not State.ACTIVE for _, s in legs)
        return {"id": self.leg.customer_id, "purpose": "customer",
                "state": "disconnected" if gone else "connected"}

    def _silent(self) -> list[dict[str, Any]]:
        return [{"id": pid, "purpose": "agent", "state": "disconnected", "user": _ref("users", u),
                 "queue": _ref("routing/queues", q), "wrapupRequired": False,
                 "wrapupPrompt": "optional"} for pid, u, q in self.leg.silent]

    def flat(self) -> dict[str, Any]:
        """``ConversationCallEventTopicCallConversation``: flat participants."""
        legs = self._legs()
        parts: list[dict[str, Any]] = [self._customer(legs)]
        for key, state in legs:
            parts.append(self._flat_leg(key, state))
        return {"id": self.leg.conversation_id, "participants": parts + self._silent()}

    def _flat_leg(self, key: str, state: State) -> dict[str, Any]:
        info, lc = self.platform.info(key), self.platform.lifecycle(key)
        t = lc.timeline
        last = key == self.leg.siblings[-1]
        p: dict[str, Any] = {
            "id": split_leg_key(key)[1], "purpose": "agent", "direction": "inbound",
            "state": "connected" if state is State.ACTIVE else "disconnected",
            "user": _ref("users", info.agent_id), "queue": _ref("routing/queues", info.queue_id),
            "wrapupRequired": True, "wrapupPrompt": "timeout",
            "wrapupTimeoutMs": round((t.acw_deadline - t.wrapping_up_at) * 1000),
            "startTime": iso(t.created_at), "connectedTime": iso(t.created_at)}
        if state is not State.ACTIVE:
            p["endTime"] = iso(t.ended_at)
            p["disconnectType"] = "peer" if last else "transfer"
        if state in (State.WRAPPING_UP, State.WRAPPED):
            p["startAcwTime"] = iso(t.wrapping_up_at)
        wrap = lc.effective_wrap(self.at) if state is State.WRAPPED else None
        if wrap is not None:
            p["endAcwTime"] = iso(wrap.at)
            p["wrapup"] = {"code": wrap.code.id, "name": wrap.code.label,
                           "durationSeconds": max(0, round(wrap.at - t.wrapping_up_at))}
        return p

    def conversation(self) -> dict[str, Any]:
        """``ConversationEventTopicConversation``: communications per participant."""
        legs = self._legs()
        parts: list[dict[str, Any]] = [{**self._customer(legs), "calls": []}]
        for key, state in legs:
            info, lc = self.platform.info(key), self.platform.lifecycle(key)
            t = lc.timeline
            call: dict[str, Any] = {
                "id": communication_of(key), "direction": "inbound",
                "state": "connected" if state is State.ACTIVE else "disconnected",
                "connectedTime": iso(t.created_at), "afterCallWorkRequired": True}
            if state is not State.ACTIVE:
                call["disconnectedTime"] = iso(t.ended_at)
            wrap = lc.effective_wrap(self.at) if state is State.WRAPPED else None
            if state is State.WRAPPING_UP:
                call["afterCallWork"] = {"state": "pending", "startTime": iso(t.wrapping_up_at)}
            elif wrap is not None:
                call["afterCallWork"] = {"state": "complete", "startTime": iso(t.wrapping_up_at),
                                         "endTime": iso(wrap.at)}
            p: dict[str, Any] = {
                "id": split_leg_key(key)[1], "purpose": "agent", "userId": info.agent_id,
                "queueId": info.queue_id, "wrapupRequired": True, "wrapupExpected": True,
                "calls": [call]}
            if wrap is not None:
                p["wrapup"] = {"code": wrap.code.id, "name": wrap.code.label}
            parts.append(p)
        silent = [{"id": s["id"], "purpose": "agent", "userId": s["user"]["id"],
                   "queueId": s["queue"]["id"], "wrapupRequired": False,
                   "wrapupExpected": False, "calls": []} for s in self._silent()]
        return {"id": self.leg.conversation_id, "participants": parts + silent}


def detail(platform: Platform, plan: PlannedInteraction, suffix: str, at: float,
           code: str | None = None) -> dict[str, Any]:
    """A detail event body (``user.end`` or ``acw``) for the planned leg."""
    assert plan.leg is not None
    info = platform.info(plan.interaction_id)
    body: dict[str, Any] = {
        "eventTime": round(at * 1000), "conversationId": plan.leg.conversation_id,
        "participantId": plan.leg.participant_id, "sessionId": plan.leg.communication_id,
        "mediaType": "VOICE", "provider": "Edge", "direction": "INBOUND",
        "userId": info.agent_id, "queueId": info.queue_id}
    if suffix == "user.end":
        last = plan.interaction_id == plan.leg.siblings[-1]
        body["disconnectType"] = "PEER" if last else "TRANSFER"
    elif code is not None:
        body["wrapupCode"] = code
    return body


def envelope(topic: str, pattern: str, body: dict[str, Any], at: float, *,
             eventbridge: bool, salt: str) -> bytes:
    """The notification, as is or inside an EventBridge event."""
    correlation = str(uuid.uuid5(_NS, f"{topic}|{salt}"))
    note = {"topicName": topic, "version": "2", "eventBody": body,
            "metadata": {"CorrelationId": correlation}}
    if not eventbridge:
        return orjson.dumps(note)
    return orjson.dumps({
        "version": "0", "id": str(uuid.uuid5(_NS, f"eb|{topic}|{salt}")), "detail-type": pattern,
        "source": f"aws.partner/genesys.com/cloud/{ORG}/wrapup-sim", "account": "123456789012",
        "time": iso(at)[:19] + "Z", "region": "us-east-1", "resources": [],
        "detail": {**note, "timestamp": iso(at)}})


def choose(leg: LegPlan, mode: str) -> bool:
    """Whether a conversation's records go in EventBridge envelopes (``mixed``: half)."""
    if mode == "mixed":
        return zlib.crc32(leg.conversation_id.encode()) % 2 == 1
    return mode == "eventbridge"
