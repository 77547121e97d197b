"""The simulator's Genesys Cloud mode: the profile's endpoints, per-leg state, its payloads.

Routes (as ``ConversationsApi`` documents them; ``{media}`` is ``calls``)::

    POST  /oauth/token                       client credentials, HTTP Basic id:secret
    POST  /api/v2/conversations/{media}/{conversationId}/participants/{participantId}
          /communications/{communicationId}/wrapup      WrapupInput {"code", "name", ...}
    PATCH /api/v2/conversations/{media}/{conversationId}/participants/{participantId}
          {"wrapup": {...}} only (any other field: 403)
    GET   .../communications/{communicationId}/wrapup and .../participants/{participantId}
          /wrapup                                       AssignedWrapupCode, 404 when none

The ledger key is the leg, ``conversation/participant``; a wrong communication ID or
medium names no leg (404). Applied: 202, no body. Not in ACW yet and already wrapped are
both 409 with the same error code (Genesys documents neither; the profile reads back).
Every API answer carries ``inin-ratelimit-count/allowed/reset``; past ``rate_per_minute``
requests per token in a minute (``rate_window``) the answer is 429 with ``Retry-After``.

Events per leg transition, in the platform's order (disconnect first, ACW later):
ended — the flat calls notification, then ``user.end``; wrapping-up — the conversations
notification (the communication, ``afterCallWork`` pending), then the calls one
(``startAcwTime``); wrapped — the calls notification (``wrapup``, ``endAcwTime``), then
``.acw``. ``topics`` picks which shapes are sent, ``envelope`` notification, eventbridge
or mixed. The platform's own ACW timeout wraps with ``ININ-WRAP-UP-TIMEOUT``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import orjson

from streams.dev.simulator.chaos import SlidingWindow
from streams.dev.simulator.dialects.base import Dialect, Message, Refusal, Reply, Route
from streams.dev.simulator.dialects.genesys_payloads import Snapshot, choose, detail, envelope, iso
from streams.dev.simulator.dialects.genesys_plan import communication_of, plan_legs
from streams.dev.simulator.lifecycle import State, Transition
from streams.dev.simulator.platform import TOKEN_PATH, AuthConfig, Platform
from streams.dev.simulator.workload import PlannedInteraction, Workload, WorkloadParams
from streams.events import Event, EventType, Rejection, leg_key
from streams.platforms.base import Leg
from streams.platforms.genesys import Credentials, Endpoints, GenesysApi, GenesysEvents
from streams.policy import WrapupCode

PARTICIPANT = "/api/v2/conversations/{media}/{conversationId}/participants/{participantId}"
COMMUNICATION = PARTICIPANT + "/communications/{communicationId}"
TOPICS = ("calls", "conversation", "detail")
ENVELOPES = ("notification", "eventbridge", "mixed")
_WRAPUP_FIELDS = frozenset({"code", "name", "notes", "tags", "durationSeconds", "endTime",
                            "provisional", "disableEndTimeUpdates"})


class GenesysDialect(Dialect):
    """Genesys Cloud, as far as the profile uses it (see the module docstring)."""

    name = "genesys"
    token_path = TOKEN_PATH

    def __init__(self, *, envelope: str = "mixed", topics: tuple[str, ...] = TOPICS,
                 rate_per_minute: int = 300, rate_window: float = 60.0,
                 transfer_fraction: float = 0.3, not_required_fraction: float = 0.1) -> None:
        if envelope not in ENVELOPES or not topics or set(topics) - set(TOPICS):
            raise ValueError(f"envelope one of {ENVELOPES}; topics a subset of {TOPICS}")
        if rate_per_minute < 1 or rate_window <= 0:
            raise ValueError("rate_per_minute must be >= 1 and rate_window positive")
        self.envelope, self.topics = envelope, tuple(topics)
        self.rate_per_minute = rate_per_minute  # per token, per ``rate_window`` seconds
        self.rate_window = rate_window  # 60 s on Genesys; shorter only to test quickly
        self.transfer_fraction, self.not_required_fraction = (transfer_fraction,
                                                              not_required_fraction)
        self._windows: dict[str, SlidingWindow] = {}

    # ---- HTTP

    def routes(self) -> tuple[Route, ...]:
        return (Route("POST", self.token_path, "token"),
                Route("POST", COMMUNICATION + "/wrapup", "wrapup"),
                Route("PATCH", PARTICIPANT, "wrapup"),
                Route("GET", COMMUNICATION + "/wrapup", "readback"),
                Route("GET", PARTICIPANT + "/wrapup", "readback"))

    def key(self, match_info: Mapping[str, str]) -> str:
        key = leg_key(match_info["conversationId"], match_info["participantId"])
        communication = match_info.get("communicationId")
        if match_info["media"] != "calls" or (
                communication is not None and communication != communication_of(key)):
            return f"{key}/{communication or match_info['media']}"  # names no leg: 404
        return key

    def parse_wrapup(self, method: str, raw: bytes) -> str | Refusal:
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _bad("The request body is not valid JSON.")
        if method == "PATCH":
            if not isinstance(doc, dict) or set(doc) != {"wrapup"}:
                return Refusal(403, "forbidden", "Only the wrapup may be changed here: other "
                               "fields act on the communication.", "not.authorized")
            doc = doc["wrapup"]
        if not isinstance(doc, dict) or set(doc) - _WRAPUP_FIELDS:
            return _bad("The body is not a WrapupInput.")
        code = doc.get("code")
        if not isinstance(code, str) or not code:
            return _bad("code is required.")
        return code

    def error_body(self, status: int, message: str, code: str) -> bytes:
        return orjson.dumps({"message": message, "code": code, "status": status,
                             "contextId": "sim-context", "details": [], "errors": []})

    def not_ready(self) -> tuple[str, str]:
        return "The wrap-up cannot be applied to this participant now.", "conflict"

    def already_wrapped(self) -> tuple[str, str]:
        return "The wrap-up cannot be applied to this participant now.", "conflict"

    def not_found_message(self, key: str) -> str:
        return f"Conversation participant {key} not found."

    def applied(self, platform: Platform, key: str, now: float) -> Reply:
        return Reply(202, b"", State.WRAPPED.value)

    def readback(self, platform: Platform, key: str, now: float) -> Reply:
        platform.settle(key, now)
        lc = platform.lifecycle(key)
        state = lc.state_at(now).value
        if lc.wrap is None:
            return Reply(404, self.error_body(404, "No wrap-up is assigned.", "not.found"),
                         state)
        wrap = lc.wrap
        doc = {"code": wrap.code.id, "durationSeconds": max(
            0, round(wrap.at - lc.timeline.wrapping_up_at)), "endTime": iso(wrap.at)}
        return Reply(200, orjson.dumps(doc), state)

    def admit(self, token: str | None, now: float) -> float | None:
        window = self._windows.setdefault(token or "", SlidingWindow())
        return window.admit(now, self.rate_per_minute, self.rate_window)

    def headers(self, token: str | None, now: float) -> dict[str, str]:
        window = self._windows.get(token or "")
        count, reset = (window.usage(now, self.rate_window) if window is not None
                        else (0, 0.0))
        return {"inin-ratelimit-count": str(count),
                "inin-ratelimit-allowed": str(self.rate_per_minute),
                "inin-ratelimit-reset": str(int(reset + 0.999))}

    # ---- events and plan

    def messages(self, platform: Platform, plan: PlannedInteraction,
                 transition: Transition) -> list[Message]:
        if plan.leg is None:
            return super().messages(platform, plan, transition)
        leg, at = plan.leg, transition.at
        bridged = choose(leg, self.envelope)
        snap = Snapshot(platform, plan, at)
        info = platform.info(plan.interaction_id)
        salt = f"{plan.interaction_id}|{transition.state.value}"
        out: list[Message] = []

        def calls(kind: EventType) -> None:
            if "calls" not in self.topics:
                return
            queue_twin = hash_half(plan.interaction_id)
            topic, pattern = (
                (f"v2.routing.queues.{info.queue_id}.conversations.calls",
                 "v2.routing.queues.{id}.conversations.calls") if queue_twin else
                (f"v2.users.{info.agent_id}.conversations.calls",
                 "v2.users.{id}.conversations.calls"))
            out.append(Message(kind, envelope(topic, pattern, snap.flat(), at,
                                              eventbridge=bridged, salt=salt)))

        def detail_event(kind: EventType, suffix: str, code: str | None = None) -> None:
            if "detail" not in self.topics:
                return
            topic = f"v2.detail.events.conversation.{leg.conversation_id}.{suffix}"
            body = detail(platform, plan, suffix, at, code)
            out.append(Message(kind, envelope(
                topic, "v2.detail.events.conversation.{id}." + suffix, body, at,
                eventbridge=bridged, salt=salt)))

        if transition.state is State.ENDED:
            calls(EventType.ENDED)
            detail_event(EventType.ENDED, "user.end")
        elif transition.state is State.WRAPPING_UP:
            if "conversation" in self.topics:
                out.append(Message(EventType.WRAPPING_UP, envelope(
                    f"v2.users.{info.agent_id}.conversations", "v2.users.{id}.conversations",
                    snap.conversation(), at, eventbridge=bridged, salt=salt)))
            calls(EventType.WRAPPING_UP)
        elif transition.state is State.WRAPPED:
            calls(EventType.WRAPPED)
            code = transition.wrap.code.id if transition.wrap is not None else None
            detail_event(EventType.WRAPPED, "acw", code)
        return out

    def record_key(self, plan: PlannedInteraction) -> bytes:
        conversation = plan.leg.conversation_id if plan.leg else plan.interaction_id
        return conversation.encode()

    def plan(self, params: WorkloadParams) -> Workload:
        return plan_legs(params, transfer_fraction=self.transfer_fraction,
                         not_required_fraction=self.not_required_fraction)

    def worker_env(self, base_url: str, auth: AuthConfig) -> dict[str, str]:
        return {
            "WRAPUP_PLATFORM": "genesys",
            "WRAPUP_GENESYS_API_URL": base_url,
            "WRAPUP_GENESYS_LOGIN_URL": base_url,
            "WRAPUP_OAUTH_CLIENT_ID": auth.client_id,
            "WRAPUP_OAUTH_CLIENT_SECRET": auth.client_secret,
            # One token: stay under its per-minute budget (the profile's advice too).
            "WRAPUP_API_RATE_LIMIT": f"{self.rate_per_minute / self.rate_window * 0.9:g}",
        }

    # ---- the baseline: the product's own Genesys reading and request, after a fixed delay

    baseline_once_per_leg = True  # every leg's ended is in several records

    def baseline_ended(self, value: bytes | None) -> list[Event]:
        decoded = GenesysEvents().decode(value)
        return [] if isinstance(decoded, Rejection) else [
            e for e in decoded if e.type is EventType.ENDED]

    def baseline_request(self, event: Event, code: WrapupCode
                         ) -> tuple[str, str, bytes, dict[str, str]]:
        api = GenesysApi(Endpoints("", TOKEN_PATH), Credentials())  # paths relative to the sim
        request = api.wrapup_request(Leg(event.interaction_id, event.leg_id,
                                         event.communication_id, event.media_type), code)
        return request.method, request.path, request.content or b"", dict(request.headers)

    def options(self) -> dict[str, Any]:
        return {"envelope": self.envelope, "topics": list(self.topics),
                "rate_per_minute": self.rate_per_minute, "rate_window": self.rate_window,
                "transfer_fraction": self.transfer_fraction,
                "not_required_fraction": self.not_required_fraction}


def hash_half(key: str) -> bool:
    """A stable half of the legs is seen through the queue topic twin."""
    return zlib.crc32(key.encode()) % 2 == 0


def _bad(message: str) -> Refusal:
    return Refusal(400, "bad_request", message, "bad.request")


def dialect(**options: Any) -> GenesysDialect:
    return GenesysDialect(**options)
