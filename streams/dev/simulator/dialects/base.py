"""The dialect interface, with the generic dialect's behaviour as its defaults.

Every method is pure or reads the :class:`~streams.dev.simulator.platform.Platform` it
is given; the server (:mod:`..server`) and the bridge (:mod:`..bridge`) do the I/O and
keep the ledger, with the same reason labels in every dialect (``applied``,
``not_ready``, ``already_wrapped``, ...), so reports and verdicts read any dialect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from streams.dev.simulator.lifecycle import State, Transition
from streams.dev.simulator.platform import (
    ALREADY_WRAPPED_CODE,
    ALREADY_WRAPPED_MESSAGE,
    INTERACTION_PATH,
    NOT_READY_CODE,
    NOT_READY_MESSAGE,
    TOKEN_PATH,
    WRAPUP_PATH,
    AuthConfig,
    Platform,
)
from streams.dev.simulator.workload import PlannedInteraction, Workload, WorkloadParams, generate
from streams.events import Event, EventType, encode_event, parse_event
from streams.policy import WrapupCode

EVENT_TYPES = {
    State.ENDED: EventType.ENDED,
    State.WRAPPING_UP: EventType.WRAPPING_UP,
    State.WRAPPED: EventType.WRAPPED,
}


@dataclass(frozen=True, slots=True)
class Route:
    """One platform route: ``action`` is ``token``, ``wrapup``, ``readback`` or
    ``discovery`` or ``credentials``."""

    method: str
    path: str
    action: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a wrap-up request body is refused: status, ledger reason, message, code."""

    status: int
    reason: str
    message: str
    code: str


@dataclass(frozen=True, slots=True)
class Reply:
    """A body the server sends as is (JSON unless ``content_type`` says otherwise)."""

    status: int
    body: bytes
    state: str | None = None  # the leg's state, for the ledger
    content_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class Message:
    """One record the bridge publishes for a transition (``type``: its metric label)."""

    type: EventType
    value: bytes


class Dialect:
    """The generic dialect; subclass and override what differs (see the package doc)."""

    name = "generic"
    token_path = TOKEN_PATH

    # ---- HTTP

    def routes(self) -> tuple[Route, ...]:
        return (Route("POST", self.token_path, "token"),
                Route("GET", INTERACTION_PATH, "readback"),
                Route("POST", WRAPUP_PATH, "wrapup"))

    def key(self, match_info: Mapping[str, str]) -> str:
        """The ledger key a request's path names."""
        return match_info["id"]

    def request_key(self, platform: Platform, match_info: Mapping[str, str],
                    body: bytes) -> str:
        """The ledger key a request names (its path: :meth:`key`; Connect: its body)."""
        return self.key(match_info)

    def authorize(self, platform: Platform, method: str, path_qs: str,
                  headers: Mapping[str, str], body: bytes, now: float) -> Refusal | None:
        """None when the request is authorized, else the refusal (generic: a bearer
        token the platform issued, else 401; :meth:`check_auth` for a header check)."""
        denied = self.check_auth(platform, headers.get("Authorization"), now)
        if denied is None:
            return None
        return Refusal(401, denied[0], denied[1], denied[0].replace("_", "."))

    def overwrite(self, platform: Platform, key: str, now: float) -> Reply | None:
        """The answer to a write on a wrapped leg when the platform does not refuse it
        (recorded as ``overwrote``); None: refuse it (409 already wrapped)."""
        return None

    def credentials(self, platform: Platform, now: float) -> Reply:
        """The answer of a ``credentials`` route (none in the generic dialect)."""
        return Reply(404, orjson.dumps({"message": "no credentials here"}))

    def parse_wrapup(self, method: str, raw: bytes) -> str | Refusal:
        """The code ID a wrap-up request sets, or why its body is refused."""
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return Refusal(400, "bad_request", "The request body is not valid JSON.",
                           "bad.request")
        code = doc.get("wrapupCode") if isinstance(doc, dict) else None
        code_id = code.get("id") if isinstance(code, dict) else None
        if not isinstance(code_id, str) or not code_id:
            return Refusal(400, "bad_request", "wrapupCode.id is required.", "bad.request")
        return code_id

    def error_body(self, status: int, message: str, code: str) -> bytes:
        return orjson.dumps({"message": message, "code": code, "status": status})

    conflict_status = 409  # the status of the not-ready and already-wrapped refusals

    def check_auth(self, platform: Platform, header: str | None, now: float
                   ) -> tuple[str, str] | None:
        """None when the ``Authorization`` header is accepted, else (ledger reason,
        message) of the 401. Generic: the platform's bearer tokens."""
        return platform.check_token(header, now)

    def not_ready(self) -> tuple[str, str]:
        """(message, code) of the 409 for a leg not yet in after-call work."""
        return NOT_READY_MESSAGE, NOT_READY_CODE

    def already_wrapped(self) -> tuple[str, str]:
        """(message, code) of the 409 for a leg already wrapped."""
        return ALREADY_WRAPPED_MESSAGE, ALREADY_WRAPPED_CODE

    def not_found_message(self, key: str) -> str:
        return f"Interaction {key} not found."

    def applied(self, platform: Platform, key: str, now: float) -> Reply:
        """The answer to an applied wrap-up."""
        return self.readback(platform, key, now)

    def readback(self, platform: Platform, key: str, now: float) -> Reply:
        """The answer to a read-back of a known leg."""
        doc = platform.snapshot(key, now)
        return Reply(200, orjson.dumps(doc), doc["state"])

    def admit(self, token: str | None, now: float) -> float | None:
        """A dialect's own rate limit on an authorized request: None to admit it, else the
        seconds until it would pass (answered 429). Generic: none (chaos has one)."""
        return None

    def grant_refusal(self, form: Mapping[str, str], auth: AuthConfig
                      ) -> tuple[int, str] | None:
        """(status, OAuth error) refusing a token request's grant, None to accept it (the
        client is checked apart, from the Basic header or the form). Generic: client
        credentials only."""
        if form.get("grant_type") != "client_credentials":
            return 400, "unsupported_grant_type"
        return None

    def token_fields(self) -> dict[str, Any]:
        """Fields added to a token answer (e.g. an ``id_token``). Generic: none."""
        return {}

    def discovery(self, base_url: str, query: Mapping[str, str]) -> Reply:
        """The answer to a ``discovery`` route (the platform's API host, for one whose
        clients look it up). Generic: no such route is served."""
        return Reply(404, orjson.dumps({"message": "no discovery"}))

    def headers(self, token: str | None, now: float) -> dict[str, str]:
        """Headers added to every answer of an API route (e.g. rate-limit counters)."""
        return {}

    # ---- events and plan

    def messages(self, platform: Platform, plan: PlannedInteraction,
                 transition: Transition) -> list[Message]:
        """The records the bridge publishes for one transition of a planned leg."""
        event_type = EVENT_TYPES[transition.state]
        timeline = platform.lifecycle(plan.interaction_id).timeline
        wrapped = event_type is EventType.WRAPPED
        wrap = transition.wrap
        return [Message(event_type, encode_event(Event(
            event_id=f"{plan.interaction_id}:{event_type.value}",
            type=event_type,
            interaction_id=plan.interaction_id,
            occurred_at=transition.at,
            agent_id=plan.agent_id,
            queue_id=plan.queue_id,
            campaign_id=plan.campaign_id,
            acw_deadline=None if wrapped else timeline.acw_deadline,
            wrapup_code_id=wrap.code.id if wrap is not None else None,
            wrapped_by=wrap.by.value if wrap is not None else None,
        )))]

    def record_key(self, plan: PlannedInteraction) -> bytes:
        """The Kafka record key of a leg's messages (the interaction, for every leg)."""
        return plan.interaction_id.encode()

    def plan(self, params: WorkloadParams) -> Workload:
        """The workload for ``params`` in this dialect."""
        return generate(params)

    def worker_env(self, base_url: str, auth: AuthConfig) -> dict[str, str]:
        """The ``WRAPUP_*`` variables that point the worker at a simulator at ``base_url``."""
        return {
            "WRAPUP_API_BASE_URL": base_url,
            "WRAPUP_OAUTH_TOKEN_URL": self.token_path,
            "WRAPUP_OAUTH_CLIENT_ID": auth.client_id,
            "WRAPUP_OAUTH_CLIENT_SECRET": auth.client_secret,
        }

    # ---- the baseline (the seed's approach, spoken in this dialect, for ``compare``)

    has_baseline = True  # the baseline_* hooks speak this dialect (compare's baseline side)
    baseline_once_per_leg = False  # generic: one POST per ended message, duplicates too

    def baseline_ended(self, value: bytes | None) -> list[Event]:
        """The ended events of one record, as the baseline reads them."""
        event = parse_event(value)
        return [event] if isinstance(event, Event) and event.type is EventType.ENDED else []

    def baseline_request(self, event: Event, code: WrapupCode
                         ) -> tuple[str, str, bytes, dict[str, str]]:
        """(method, path, body, headers) of the baseline's one wrap-up for ``event``'s leg."""
        body = orjson.dumps({"wrapupCode": {"id": code.id, "label": code.label}})
        return ("POST", WRAPUP_PATH.format(id=event.interaction_id), body,
                {"Content-Type": "application/json"})

    def baseline_authorization(self, auth: AuthConfig) -> str | None:
        """A fixed ``Authorization`` header for the baseline; None: it fetches a bearer
        token (client credentials at :attr:`token_path`)."""
        return None

    def options(self) -> dict[str, Any]:
        """The dialect's settings (for run descriptions)."""
        return {}
