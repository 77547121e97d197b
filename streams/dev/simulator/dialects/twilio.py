"""The simulator speaking Twilio TaskRouter: one task per planned leg, completed by reason.

HTTP (Basic auth ``API key SID:secret``; the secret is ``AuthConfig.client_secret``, so
replacing the platform's ``auth`` rotates it — see :meth:`TwilioDialect.rotate`)::

    GET  /v1/Workspaces/{WS}/Tasks/{WT}   the Task resource (assignment_status, reason)
    POST /v1/Workspaces/{WS}/Tasks/{WT}   AssignmentStatus=completed&Reason=<code>

States: active and ended are ``assigned`` (the call is on, or just over while Flex has
not yet moved the task), wrapping-up is ``wrapping``, wrapped is ``completed`` with the
code as ``reason`` — set by our POST, by the agent (the Flex UI), or by Flex
auto-completing the wrapping task at the ACW timeout. Refusals are 400s in Twilio's
error format (``{"code", "message", "more_info", "status"}``). Stricter than TaskRouter
on one point, on purpose: TaskRouter *accepts* completing a task that is still
``assigned`` (it would cut the agent's call short); here that is refused and ledgered as
``not_ready``, so a run must show none. A form carrying ``Attributes`` is refused too
(it would replace the task's attributes).

Events, each as TaskRouter or Event Streams delivers it, keyed by the task SID:

* ended: a ``task.updated`` callback (still ``assigned``: nothing the bridge needs);
* wrapping-up: a ``task.wrapup`` callback (JSON) and a ``reservation.wrapup`` CloudEvent;
* wrapped: a ``task.completed`` callback as the form body TaskRouter posts.

The baseline (the seed's approach) reads them with the product's decoder and completes
each task a fixed delay after every ``ended`` it sees — twice per task, as it does not
de-duplicate the callback and the CloudEvent.

The plan's IDs are made TaskRouter SIDs (``WT`` + 32 hex digits, derived from the plan's
IDs), and the ended event is never lost: in TaskRouter, the move to ``wrapping`` is what
says the conversation is over.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import orjson

from streams.dev.simulator.dialects.base import Dialect, Message, Refusal, Reply, Route
from streams.dev.simulator.lifecycle import State, Transition
from streams.dev.simulator.platform import AuthConfig, Platform
from streams.dev.simulator.workload import PlannedInteraction, Workload, WorkloadParams, generate
from streams.events import Event, EventType
from streams.platforms.twilio import TwilioEvents
from streams.policy import WrapupCode

WORKSPACE_SID = "WS" + "5a" * 16
API_KEY_SID = "SK" + "7b" * 16
ACCOUNT_SID = "AC" + "3c" * 16
_STATUS = {State.ACTIVE: "assigned", State.ENDED: "assigned", State.WRAPPING_UP: "wrapping",
           State.WRAPPED: "completed"}
_ERROR_CODES = {400: 20001, 401: 20003, 403: 20403, 404: 20404, 429: 20429}


def sid(prefix: str, name: str) -> str:
    """A stable TaskRouter-style SID for ``name`` (prefix + 32 hex digits)."""
    return prefix + hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()


class TwilioDialect(Dialect):
    """TaskRouter's task endpoints and event payloads (see the module doc)."""

    name = "twilio"
    conflict_status = 400

    def __init__(self, workspace_sid: str = WORKSPACE_SID,
                 api_key_sid: str = API_KEY_SID) -> None:
        self.workspace_sid = workspace_sid
        self.api_key_sid = api_key_sid
        self.task_path = f"/v1/Workspaces/{workspace_sid}/Tasks/{{id}}"

    # ---- HTTP

    def routes(self) -> tuple[Route, ...]:
        return (Route("GET", self.task_path, "readback"),
                Route("POST", self.task_path, "wrapup"))

    def key(self, match_info: Mapping[str, str]) -> str:
        return match_info["id"]

    def check_auth(self, platform: Platform, header: str | None, now: float
                   ) -> tuple[str, str] | None:
        pair = _basic(header)
        if pair is None:
            return "unauthorized", "Authentication required: HTTP Basic credentials."
        user, secret = pair
        if not (secrets.compare_digest(user, self.api_key_sid)
                and secrets.compare_digest(secret, platform.auth.client_secret)):
            return "invalid_credentials", "Authenticate"
        return None

    def rotate(self, platform: Platform, secret: str) -> None:
        """Rotate the API key's secret: the old one is refused from now on."""
        platform.auth = replace(platform.auth, client_secret=secret)

    def parse_wrapup(self, method: str, raw: bytes) -> str | Refusal:
        try:
            form = parse_qs(raw.decode(), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return Refusal(400, "bad_request", "The request body is not a form.", "bad.request")
        if "Attributes" in form:
            return Refusal(400, "bad_request", "Attributes would replace the task's "
                           "attributes (the bridge must not send them).", "bad.request")
        if form.get("AssignmentStatus") != ["completed"]:
            return Refusal(400, "bad_request", "AssignmentStatus must be completed.",
                           "bad.request")
        reason = form.get("Reason", [""])
        if len(reason) != 1 or not reason[0]:
            return Refusal(400, "bad_request", "Reason is required to complete a task.",
                           "bad.request")
        return reason[0]

    def error_body(self, status: int, message: str, code: str) -> bytes:
        number = _ERROR_CODES.get(status, 20500 if status >= 500 else 20001)
        return orjson.dumps({"code": number, "message": message,
                             "more_info": f"https://www.twilio.com/docs/errors/{number}",
                             "status": status})

    def not_ready(self) -> tuple[str, str]:
        return "Cannot complete task: it is not wrapping (still assigned).", "bad.request"

    def already_wrapped(self) -> tuple[str, str]:
        return "Cannot complete task: it is not currently assigned or wrapping.", "bad.request"

    def not_found_message(self, key: str) -> str:
        return f"The requested resource /Workspaces/{self.workspace_sid}/Tasks/{key} was " \
               "not found"

    def readback(self, platform: Platform, key: str, now: float) -> Reply:
        platform.settle(key, now)
        info, lc = platform.info(key), platform.lifecycle(key)
        state = lc.state_at(now)
        wrap = lc.effective_wrap(now) if state is State.WRAPPED else None
        t = lc.timeline
        doc = {
            "account_sid": ACCOUNT_SID, "workspace_sid": self.workspace_sid, "sid": key,
            "age": int(max(0.0, now - t.created_at)),
            "assignment_status": _STATUS.get(state, "pending"),
            "attributes": _attributes(info.campaign_id),
            "reason": None if wrap is None else wrap.code.id,
            "date_created": _iso(t.created_at), "date_updated": _iso(now),
            "priority": 0, "timeout": 86400,
            "task_queue_sid": sid("WQ", info.queue_id),
            "task_queue_friendly_name": info.queue_id,
            "task_channel_unique_name": "voice",
            "workflow_sid": sid("WW", "default"),
            "url": f"https://taskrouter.twilio.com/v1/Workspaces/{self.workspace_sid}"
                   f"/Tasks/{key}",
        }
        return Reply(200, orjson.dumps(doc), state.value)

    # ---- events and plan

    def messages(self, platform: Platform, plan: PlannedInteraction,
                 transition: Transition) -> list[Message]:
        task, at = plan.interaction_id, transition.at
        if transition.state is State.ENDED:
            fields = self._callback(plan, "task.updated", "assigned", at)
            return [Message(EventType.ENDED, orjson.dumps(fields))]
        if transition.state is State.WRAPPING_UP:
            fields = self._callback(plan, "task.wrapup", "wrapping", at)
            reservation = sid("WR", task)
            return [Message(EventType.WRAPPING_UP, orjson.dumps(fields)),
                    Message(EventType.WRAPPING_UP, orjson.dumps(self._cloudevent(
                        plan, "reservation.wrapup", at, reservation_sid=reservation)))]
        wrap = transition.wrap
        fields = self._callback(plan, "task.completed", "completed", at)
        if wrap is not None:
            fields["TaskCompletedReason"] = wrap.code.id
        return [Message(EventType.WRAPPED, urlencode(fields).encode())]

    def _callback(self, plan: PlannedInteraction, kind: str, status: str,
                  at: float) -> dict[str, str]:
        """An event callback's form fields (TaskRouter Events reference)."""
        task = plan.interaction_id
        return {
            "Sid": sid("EV", f"{task}:{kind}"), "EventType": kind,
            "AccountSid": ACCOUNT_SID, "WorkspaceSid": self.workspace_sid,
            "WorkspaceName": "Flex Task Assignment",
            "EventDescription": f"Task {task} {kind.split('.')[1]}",
            "ResourceType": "task", "ResourceSid": task,
            "Timestamp": str(int(at)), "TimestampMs": str(int(at * 1000)),
            "TaskSid": task, "TaskAttributes": _attributes(plan.campaign_id),
            "TaskAge": "0", "TaskPriority": "0", "TaskAssignmentStatus": status,
            "TaskQueueSid": sid("WQ", plan.queue_id), "TaskQueueName": plan.queue_id,
            "TaskChannelUniqueName": "voice", "WorkerSid": sid("WK", plan.agent_id),
            "WorkerName": plan.agent_id,
        }

    def _cloudevent(self, plan: PlannedInteraction, kind: str, at: float,
                    **extra: str) -> dict[str, Any]:
        """An Event Streams CloudEvent (Event Streams TaskRouter event types)."""
        task = plan.interaction_id
        data = {
            "sid": sid("EV", f"{task}:{kind}"), "name": kind, "account_sid": ACCOUNT_SID,
            "workspace_sid": self.workspace_sid, "timestamp": _iso(at),
            "task_sid": task, "task_attributes": _attributes(plan.campaign_id),
            "task_assignment_status": "wrapping", "task_queue_sid": sid("WQ", plan.queue_id),
            "task_queue_name": plan.queue_id, "worker_sid": sid("WK", plan.agent_id),
            **extra,
        }
        return {"specversion": "1.0", "type": f"com.twilio.taskrouter.{kind}",
                "source": "AB" + "00" * 13, "id": sid("NO", f"{task}:{kind}"),
                "time": _iso(at), "datacontenttype": "application/json",
                "dataschema": "https://events-schemas.twilio.com/TaskRouter.WDSEvent/4",
                "data": data}

    def plan(self, params: WorkloadParams) -> Workload:
        workload = generate(params)
        tasks = tuple(replace(p, interaction_id=sid("WT", p.interaction_id),
                              ended_event=replace(p.ended_event, lost=False))
                      for p in workload.interactions)
        return Workload(workload.params, workload.scenario, tasks)

    def worker_env(self, base_url: str, auth: AuthConfig) -> dict[str, str]:
        return {
            "WRAPUP_PLATFORM": "twilio",
            "WRAPUP_API_BASE_URL": base_url,
            "WRAPUP_TWILIO_WORKSPACE_SID": self.workspace_sid,
            "WRAPUP_TWILIO_API_KEY_SID": self.api_key_sid,
            "WRAPUP_TWILIO_API_KEY_SECRET": auth.client_secret,
            "WRAPUP_TWILIO_QUEUE_FIELD": "name",  # the scenario's queues are named q-*
        }

    def baseline_ended(self, value: bytes | None) -> list[Event]:
        decoded = TwilioEvents(queue_field="name").decode(value)
        return [e for e in decoded if e.type is EventType.ENDED] if isinstance(
            decoded, tuple) else []

    def baseline_request(self, event: Event, code: WrapupCode
                         ) -> tuple[str, str, bytes, dict[str, str]]:
        body = urlencode({"AssignmentStatus": "completed", "Reason": code.id}).encode()
        return ("POST", self.task_path.format(id=event.interaction_id), body,
                {"Content-Type": "application/x-www-form-urlencoded"})

    def baseline_authorization(self, auth: AuthConfig) -> str | None:
        token = base64.b64encode(f"{self.api_key_sid}:{auth.client_secret}".encode())
        return f"Basic {token.decode()}"

    def options(self) -> dict[str, Any]:
        return {"workspace_sid": self.workspace_sid, "api_key_sid": self.api_key_sid}


def dialect(**options: Any) -> TwilioDialect:
    return TwilioDialect(**options)


def _attributes(campaign_id: str) -> str:
    return orjson.dumps({"type": "inbound", "campaign": campaign_id,
                         "conversations": {"campaign": campaign_id}}).decode()


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, secret = decoded.partition(":")
    return (user, secret) if sep else None
