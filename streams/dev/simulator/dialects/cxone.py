"""The NICE CXone dialect: access-key tokens, API discovery, dispositions on agent sessions.

Routes (what :mod:`streams.platforms.cxone` calls)::

    POST /auth/token                            password grant (access key), Basic client
    GET  /.well-known/cxone-configuration       {"api_endpoint": <this server>, ...}
    POST /InContactAPI/services/v27.0/agent-sessions/{sessionId}/interactions/
         {contactId}/disposition               {"primaryDispositionId": <int>, ...}
    GET  /InContactAPI/services/V27.0/contacts/{contactId}/disposition

Events: each transition of a contact becomes one ``get-next-event`` record of its agent's
session (``sessionId`` = ``sess-<agent>``), as the bridge of the README would forward it:

* ended: a ``CallContactEvent`` ``Disconnected`` with ``FinalState: "False"``;
* wrapping-up: an ``AgentState`` with ``IsAcw: "True"`` and ``AcwTimeout`` (the record
  names its ``contactId``, as the bridge adds it);
* wrapped by the ACW timeout: the contact closes, ``Disconnected`` with ``FinalState:
  "True"``, and the read-back shows **no** disposition (CXone sets none on a timeout);
* wrapped by the agent or by our POST: nothing (CXone sends no event when a disposition
  is saved): the worker learns it by read-back.

Differences from CXone, on purpose: a POST on a contact that already has a disposition is
refused (409, the model never overwrites) where CXone is assumed to overwrite; the
worker's read-back before every POST is what keeps it from doing that, and the ledger
shows it (no POST on an agent-first contact). The session in a POST's path is not
checked (the ledger keeps the path). Codes and skills are numeric, per
:func:`cxone_scenario`; campaigns exist in the model only (CXone events carry none).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.dev.simulator.dialects.base import Dialect, Message, Refusal, Reply, Route
from streams.dev.simulator.lifecycle import By, State, Transition
from streams.dev.simulator.platform import AuthConfig, Platform
from streams.dev.simulator.scenario import Campaign, Queue, Scenario
from streams.dev.simulator.workload import PlannedInteraction, Workload, WorkloadParams, generate
from streams.events import EventType
from streams.policy import Rule, WrapupCode

SERVICES = "/InContactAPI/services"
WRAPUP_PATH = SERVICES + "/v27.0/agent-sessions/{sessionId}/interactions/{contactId}/disposition"
READBACK_PATH = SERVICES + "/V27.0/contacts/{contactId}/disposition"
DISCOVERY_PATH = "/.well-known/cxone-configuration"
TOKEN_PATH = "/auth/token"
ACCESS_KEY_ID = "wrapup-sim-access-key"
TENANT_ID = "11e85da0-0000-4000-8000-0000000c0de0"


def access_key_secret(auth: AuthConfig) -> str:
    """The access key secret the simulator accepts (derived from the client secret)."""
    return f"{auth.client_secret}-access-key"


def session_of(agent_id: str) -> str:
    """The agent session the simulated agent works in."""
    return f"sess-{agent_id}"


def cxone_scenario() -> Scenario:
    """Four skills with numeric dispositions; skill 4357 (support) is out of scope."""
    def codes(first: int, *labels: str) -> tuple[WrapupCode, ...]:
        return tuple(WrapupCode(str(first + i), label) for i, label in enumerate(labels))

    return Scenario(
        campaigns=(Campaign("c-inbound", ("4354", "4355", "4357"), weight=3),
                   Campaign("c-collections", ("4356",), weight=2)),
        queues=(Queue("4354", codes(7101, "Sale", "No sale", "Callback")),
                Queue("4355", codes(7201, "Retained", "Churned")),
                Queue("4356", codes(7301, "Paid", "Promise to pay", "Dispute")),
                Queue("4357", codes(7401, "Resolved", "Escalated"))),
        rules=(Rule(WrapupCode("7001", "Sales - auto"), queue="4354"),
               Rule(WrapupCode("7002", "Retention - auto"), queue="4355"),
               Rule(WrapupCode("7003", "Collections - auto"), queue="4356")),
        acw_timeout_code=WrapupCode("7999", "ACW timeout (no disposition)"),
    )


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class CxoneDialect(Dialect):
    """The simulator speaking CXone (see the module docstring)."""

    name = "cxone"
    has_baseline = False  # compare: the worker side only (no baseline_* hooks yet)
    token_path = TOKEN_PATH

    def routes(self) -> tuple[Route, ...]:
        return (Route("POST", TOKEN_PATH, "token"),
                Route("GET", DISCOVERY_PATH, "discovery"),
                Route("GET", READBACK_PATH, "readback"),
                Route("POST", WRAPUP_PATH, "wrapup"))

    def key(self, match_info: Mapping[str, str]) -> str:
        return match_info["contactId"]

    def parse_wrapup(self, method: str, raw: bytes) -> str | Refusal:
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return Refusal(400, "bad_request", "The request body is not valid JSON.",
                           "InvalidRequest")
        value = doc.get("primaryDispositionId") if isinstance(doc, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            return Refusal(400, "bad_request", "primaryDispositionId must be a positive "
                           "integer.", "InvalidRequest")
        return str(value)

    def error_body(self, status: int, message: str, code: str) -> bytes:
        return orjson.dumps({"error": code, "error_description": message})

    def not_found_message(self, key: str) -> str:
        return f"Contact {key} was not found."

    def applied(self, platform: Platform, key: str, now: float) -> Reply:
        return Reply(202, b"", platform.state(key, now).value)

    def readback(self, platform: Platform, key: str, now: float) -> Reply:
        doc = platform.snapshot(key, now)
        code = doc["wrapupCode"]
        if code is None or doc["wrapupSource"] == By.PLATFORM.value:
            return Reply(204, b"", doc["state"])  # no disposition saved
        return Reply(200, orjson.dumps({
            "dispositionId": int(code["id"]), "dispositionName": code["label"], "notes": "",
            "dispositionedByAgendId": None, "lastUpdated": _iso(now)}), doc["state"])

    def grant_refusal(self, form: Mapping[str, str], auth: AuthConfig
                      ) -> tuple[int, str] | None:
        if form.get("grant_type") != "password":
            return 400, "unsupported_grant_type"
        username, password = form.get("username", ""), form.get("password", "")
        if not (secrets.compare_digest(username, ACCESS_KEY_ID)
                and secrets.compare_digest(password, access_key_secret(auth))):
            return 400, "invalid_grant"
        return None

    def token_fields(self) -> dict[str, Any]:
        def part(doc: dict[str, str]) -> str:
            return base64.urlsafe_b64encode(orjson.dumps(doc)).rstrip(b"=").decode()

        id_token = f"{part({'alg': 'none'})}.{part({'tenantId': TENANT_ID})}.simulated"
        return {"id_token": id_token, "refresh_token": secrets.token_urlsafe(12)}

    def discovery(self, base_url: str, query: Mapping[str, str]) -> Reply:
        if query.get("tenantId") != TENANT_ID:
            return Reply(404, orjson.dumps({"error": "tenant not found"}))
        return Reply(200, orjson.dumps({
            "private": False, "ui_endpoint": base_url, "auth_endpoint": base_url,
            "api_endpoint": base_url, "area": "sim1", "cluster": "SIM", "domain": "localhost",
            "acdDomain": "localhost", "uhDomain": "localhost"}))

    def messages(self, platform: Platform, plan: PlannedInteraction,
                 transition: Transition) -> list[Message]:
        iid, at = plan.interaction_id, transition.at
        record: dict[str, Any] = {"sessionId": session_of(plan.agent_id),
                                  "agentId": plan.agent_id}
        timeline = platform.lifecycle(iid).timeline
        contact = {"Type": "CallContactEvent", "ContactID": iid, "MasterID": iid,
                   "Status": "Disconnected", "CallType": "Regular", "IsInbound": "True",
                   "Skill": plan.queue_id, "StartTimeUTC": _iso(timeline.created_at),
                   "LastStateChangeTimeUTC": _iso(at), "AllowDispositions": "True",
                   "FinalState": "False"}
        if transition.state is State.ENDED:
            kind, record["events"] = EventType.ENDED, [contact]
        elif transition.state is State.WRAPPING_UP:
            timeout = max(1, round(timeline.acw_deadline - timeline.wrapping_up_at))
            kind, record["contactId"] = EventType.WRAPPING_UP, iid
            record["events"] = [{"Type": "AgentState", "CurrentState": "Unavailable",
                                 "CurrentOutReason": "", "StartTimeUTC": _iso(at),
                                 "AcwTimeout": str(timeout), "IsAcw": "True",
                                 "NextStates": [{"State": "Available", "OutReason": ""}],
                                 "NextIsAcw": "False"}]
        elif transition.wrap is not None and transition.wrap.by is By.PLATFORM:
            kind = EventType.WRAPPED
            record["events"] = [dict(contact, FinalState="True"),
                                {"Type": "AgentState", "CurrentState": "Available",
                                 "CurrentOutReason": "", "StartTimeUTC": _iso(at),
                                 "AcwTimeout": "0", "IsAcw": "False"}]
        else:
            return []  # a disposition saved (agent or API): CXone sends no event
        return [Message(kind, orjson.dumps(record))]

    def plan(self, params: WorkloadParams) -> Workload:
        return generate(params, cxone_scenario())

    def worker_env(self, base_url: str, auth: AuthConfig) -> dict[str, str]:
        return {
            "WRAPUP_PLATFORM": "cxone",
            "WRAPUP_API_BASE_URL": base_url,  # replaced per request by the discovered host
            "WRAPUP_CXONE_ISSUER": base_url,
            "WRAPUP_CXONE_CLIENT_ID": auth.client_id,
            "WRAPUP_CXONE_CLIENT_SECRET": auth.client_secret,
            "WRAPUP_CXONE_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "WRAPUP_CXONE_ACCESS_KEY_SECRET": access_key_secret(auth),
        }


def dialect() -> CxoneDialect:
    return CxoneDialect()
