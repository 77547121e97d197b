"""The twilio dialect's API side: complete the task with the code as its reason.

Set: ``POST /v1/Workspaces/{WorkspaceSid}/Tasks/{TaskSid}``, form-encoded
``AssignmentStatus=completed&Reason=<code id>`` (twilio-python's ``TaskContext.update``:
the fields ``AssignmentStatus``, ``Reason``, ``Attributes``, ... and an optional
``If-Match`` header). Read back: ``GET`` the same path; the task's
``assignment_status`` and ``reason`` say whether, and with which reason, it is done.

Not sent, on purpose:

* ``Attributes``: it replaces the task's whole attributes JSON (Flex keeps its
  conversation and reporting data there). Merging would need a read, a merge and a
  conditional write (``If-Match``, 412 when stale) racing Flex and the agent's own
  updates, for nothing the wrap-up needs: the reason is the code.
* ``If-Match``: completion is a state transition TaskRouter itself refuses when the
  task is not in a state that allows it; an ETag would only add 412s after every
  unrelated attribute update.

Answers: 2xx applied; 400 (TaskRouter's "not currently assigned"-style refusals, whose
exact bodies are not documented) and 412 are settled by a read-back — ``completed`` is
"already wrapped" (whose reason is on it), ``wrapping`` or ``assigned`` is "not ready"
(retry), ``canceled`` is nothing to wrap. Every other status by the default table
(:mod:`streams.platforms.statuses`): 401 unauthorized (refreshable only for
file-backed credentials, :mod:`.auth`), 403/404 permanent, 429 rate limited for
``Retry-After`` seconds when given (else backoff), 5xx transient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from streams.platforms.base import Answer, ApiRequest, Conflict, Leg, Verdict, WrapupView
from streams.platforms.statuses import answer_for_status
from streams.platforms.twilio.auth import TwilioBasicAuth
from streams.platforms.twilio.settings import TwilioSettings
from streams.policy import WrapupCode

# Task assignment statuses (twilio-python TaskInstance.Status).
COMPLETED, CANCELED, WRAPPING = "completed", "canceled", "wrapping"
STATUSES = frozenset({"pending", "reserved", "assigned", WRAPPING, COMPLETED, CANCELED})
MAX_REASON = 256  # an unusually long reason is someone else's text, not a code of ours


class TaskRouterApi:
    """Requests on one workspace's tasks; answers read by status and read-back."""

    def __init__(self, settings: TwilioSettings) -> None:
        self.settings = settings
        self._tasks = f"{settings.base}/v1/Workspaces/{settings.workspace_sid}/Tasks/"

    def __repr__(self) -> str:
        return f"TaskRouterApi({self.settings.workspace_sid})"

    def task_path(self, task_sid: str) -> str:
        """The task's URL: absolute on taskrouter.twilio.com, or relative to
        ``WRAPUP_API_BASE_URL`` when that is set (the simulator, a proxy)."""
        return self._tasks + quote(task_sid, safe="")

    def auth(self, client: httpx.AsyncClient, *, clock: Callable[[], float]) -> TwilioBasicAuth:
        return TwilioBasicAuth(self.settings.username, self.settings.password)

    def wrapup_request(self, leg: Leg, code: WrapupCode) -> ApiRequest:
        return ApiRequest.form("wrapup", "POST", self.task_path(leg.interaction_id),
                               {"AssignmentStatus": COMPLETED, "Reason": code.id})

    def classify(self, response: httpx.Response, now: float) -> Answer:
        if response.status_code in (400, 412):
            # Not ready (still assigned) or already completed: only the task can say.
            return Answer(Verdict.READ_BACK, Conflict.OTHER.value, Conflict.OTHER)
        return answer_for_status(response, now)

    def readback_request(self, leg: Leg) -> ApiRequest:
        return ApiRequest("interaction", "GET", self.task_path(leg.interaction_id))

    def parse_readback(self, response: httpx.Response) -> WrapupView | None:
        if not 200 <= response.status_code < 300:
            return None
        try:
            return task_view(orjson.loads(response.content))
        except orjson.JSONDecodeError:
            return None


def task_view(doc: Any) -> WrapupView | None:
    """A Task resource's JSON as a view; None when it is not a task document."""
    if not isinstance(doc, dict):
        return None
    status = doc.get("assignment_status")
    if not isinstance(status, str) or status not in STATUSES:
        return None
    reason = doc.get("reason")
    code = reason if isinstance(reason, str) and 0 < len(reason) <= MAX_REASON else None
    if status == COMPLETED:
        return WrapupView(True, code, False, status)
    if status == CANCELED:  # never assigned: there is no work to wrap up
        return WrapupView(True, None, False, status)
    return WrapupView(False, None, status == WRAPPING, status)
