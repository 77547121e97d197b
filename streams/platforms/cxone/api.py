"""CXone's API side: the disposition POST, its read-back, and what the answers mean.

From the agent SDK (nice-devone/nice-cxone-agent-sdk, ``disposition-service.js``,
``disposition.js``, ``cxone-disposition-details.d.ts``):

* set: ``POST /InContactAPI/services/v27.0/agent-sessions/{sessionId}/interactions/``
  ``{contactId}/disposition`` with ``{"primaryDispositionId": <int>,
  "primaryDispositionNotes": ...}``; the agent's *session* ID is needed (the leg's
  ``communication_id``), disposition IDs are numeric;
* read back: ``GET /InContactAPI/services/V27.0/contacts/{contactId}/disposition`` (the
  SDK's own spelling), answering ``{dispositionId, dispositionName, notes, lastUpdated}``.

Answers. The documents give no error bodies, so none is matched: 2xx is applied; 400,
404, 409 and 422 are settled by read-back (a disposition on the contact is final:
ours ``already_applied``, another ``skipped``; none: retried as not ready until the
deadline); 429 waits ``Retry-After`` (the SDK honours it; limits are not published);
everything else follows :mod:`streams.platforms.statuses`. A read-back with no
``dispositionId``, a 204 or a 404 means no disposition yet (the documents do not say how
"none saved" answers; a contact that does not exist then shows in the POST's answers).

CXone is not known to refuse a second disposition (the agent's own UI saves through the
same endpoint), so this side asks the dispatcher to read back before every POST
(``read_before_write``, see :func:`~streams.platforms.base.reads_before_write`).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import httpx
import orjson

from streams.platforms.base import Answer, ApiRequest, Leg, Verdict, WrapupView
from streams.platforms.cxone.auth import AccessKey, AccessKeySession, CxoneAuth
from streams.platforms.statuses import answer_for_status
from streams.policy import WrapupCode

SERVICES = "/InContactAPI/services"
_READ_BACK_STATUSES = frozenset({400, 404, 422})  # and 409, as the default table says


def disposition_id(code: WrapupCode) -> int:
    """The policy code as CXone's numeric disposition ID; ValueError when it is not one."""
    text = code.id.strip()
    if not text.isascii() or not text.isdigit() or int(text) <= 0:
        raise ValueError(f"wrap-up code {code.id!r} is not a CXone disposition ID "
                         "(a positive whole number)")
    return int(text)


class CxoneApi:
    """Requests for one agent leg (contact ID + agent session ID); answers as above."""

    read_before_write = True  # a second disposition may overwrite: read back first

    def __init__(self, key: AccessKey, notes: str | None = None) -> None:
        self.key = key
        self.notes = notes

    def __repr__(self) -> str:
        return f"CxoneApi({self.key!r})"

    def auth(self, client: httpx.AsyncClient, *, clock: Callable[[], float]) -> CxoneAuth:
        return CxoneAuth(AccessKeySession(client, self.key, clock=clock), client.base_url)

    def wrapup_request(self, leg: Leg, code: WrapupCode) -> ApiRequest:
        if not leg.communication_id:
            raise ValueError(f"contact {leg.interaction_id}: no agent session ID to post in")
        body: dict[str, object] = {"primaryDispositionId": disposition_id(code)}
        if self.notes is not None:
            body["primaryDispositionNotes"] = self.notes
        path = (f"{SERVICES}/v27.0/agent-sessions/{quote(leg.communication_id, safe='')}"
                f"/interactions/{quote(leg.interaction_id, safe='')}/disposition")
        return ApiRequest.json("wrapup", "POST", path, body)

    def classify(self, response: httpx.Response, now: float) -> Answer:
        if response.status_code in _READ_BACK_STATUSES:
            # Not ready, already dispositioned, closed, or a bad ID: only a read-back tells.
            return Answer(Verdict.READ_BACK, "refused_unexplained")
        return answer_for_status(response, now)

    def readback_request(self, leg: Leg) -> ApiRequest:
        path = f"{SERVICES}/V27.0/contacts/{quote(leg.interaction_id, safe='')}/disposition"
        return ApiRequest("interaction", "GET", path)

    def parse_readback(self, response: httpx.Response) -> WrapupView | None:
        status = response.status_code
        if status in (204, 404):  # [I] either may mean "none saved": the POST's answer tells
            return WrapupView(False, None, False, "no_disposition")
        if not 200 <= status < 300:
            return None
        try:
            doc = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(doc, dict):
            return None
        value = doc.get("dispositionId")
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            if value not in (None, 0, ""):
                return None  # a dispositionId we cannot read: not a view
            return WrapupView(False, None, False, "no_disposition")
        name = doc.get("dispositionName")
        return WrapupView(True, str(value), False, name if isinstance(name, str) else None)
