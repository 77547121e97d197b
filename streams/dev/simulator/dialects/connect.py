"""The Amazon Connect dialect: contact attributes over SigV4, EventBridge contact events.

Routes (the API's, per the botocore ``connect`` model)::

    POST /contact/attributes                                UpdateContactAttributes
    GET  /contact/attributes/{InstanceId}/{InitialContactId} GetContactAttributes
    GET  /_sim/aws-credentials                              container credentials (the
                                                            AWS_CONTAINER_CREDENTIALS_FULL_URI
                                                            botocore's chain reads)

Every API request must carry a valid SigV4 signature (verified by re-signing with
botocore): the fixed access key pair (``AuthConfig.client_id`` / ``client_secret``) or
temporary credentials from the credentials route, whose session token is a platform
token — ``/_sim/expire-tokens`` expires them (403 ``ExpiredTokenException``).

The model's lifecycle maps onto Connect as: the leg's ACW start (wrapping-up) is its
``DISCONNECTED`` event (ended and ACW begin together in Connect; nothing is published at
"ended"), and a wrap is the attribute set: by us (``CONTACT_DATA_UPDATED``), by the agent
(``CONTACT_DATA_UPDATED`` then ``COMPLETED``), by the platform's timeout (``COMPLETED``:
read as a flow or Lambda having set it). An update is never refused: one on a contact
whose attribute someone else set is answered 200 and recorded ``overwrote`` (what the
worker must never cause). There is no "not ready" in Connect.

Legs: a planned interaction ``"C1/C2"`` is contact C2 transferred from C1 (its initial
contact); every ``transfer_every``-th planned interaction becomes one (0: none). The
policy is by queue only (Connect's events carry no campaign).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from streams.dev.simulator.dialects.base import Dialect, Message, Refusal, Reply, Route
from streams.dev.simulator.dialects.connect_wire import (
    INSTANCE_ID,
    MAX_SKEW,
    REGION,
    SERVICE,
    amz_date_skew,
    contact_event,
    error_body,
    iso,
    parse_authorization,
    signature_matches,
    temporary_secret,
)
from streams.dev.simulator.lifecycle import By, State, Transition
from streams.dev.simulator.platform import AuthConfig, Platform
from streams.dev.simulator.scenario import Scenario, default_scenario
from streams.dev.simulator.workload import PlannedInteraction, Workload, WorkloadParams, generate
from streams.events import EventType, split_leg_key
from streams.policy import Rule, WrapupCode

ATTRIBUTE = "wrapupCode"
WRITE_PATH = "/contact/attributes"
READ_PATH = "/contact/attributes/{instance}/{id}"
CREDENTIALS_PATH = "/_sim/aws-credentials"


def connect_scenario() -> Scenario:
    """The default center with a policy by queue only (q-support out of scope)."""
    base = default_scenario()
    return replace(base, rules=(
        Rule(WrapupCode("wc-sales-auto", "Sales - auto"), queue="q-sales"),
        Rule(WrapupCode("wc-retention-auto", "Retention - auto"), queue="q-retention"),
        Rule(WrapupCode("wc-billing", "Billing - auto"), queue="q-billing"),
    ))


def transfers(workload: Workload, every: int) -> Workload:
    """Every ``every``-th interaction becomes a transferred leg of the one before it."""
    if every <= 0:
        return workload
    legs = list(workload.interactions)
    for i in range(every - 1, len(legs), every):
        if i == 0 or "/" in legs[i - 1].interaction_id:
            continue
        legs[i] = replace(legs[i], interaction_id=f"{legs[i - 1].interaction_id}/"
                          f"{legs[i].interaction_id}")
    return replace(workload, interactions=tuple(legs))


class ConnectDialect(Dialect):
    """Amazon Connect's attributes API and contact events."""

    name = "connect"
    has_baseline = False  # compare: the worker side only (no baseline_* hooks yet)

    def __init__(self, *, credentials: str = "env", transfer_every: int = 0) -> None:
        if credentials not in ("env", "container"):
            raise ValueError("credentials must be env or container")
        self.credentials_mode = credentials
        self.transfer_every = transfer_every
        self._index: dict[str, str] = {}
        self._indexed = -1

    # ---- HTTP

    def routes(self) -> tuple[Route, ...]:
        return (Route("GET", CREDENTIALS_PATH, "credentials"),
                Route("GET", READ_PATH, "readback"),
                Route("POST", WRITE_PATH, "wrapup"))

    def request_key(self, platform: Platform, match_info: Mapping[str, str],
                    body: bytes) -> str:
        if "id" in match_info:
            if match_info.get("instance") != INSTANCE_ID:
                return ""  # another instance: not found
            contact = match_info["id"]
        else:
            try:
                doc = orjson.loads(body)
            except orjson.JSONDecodeError:
                return ""
            named = doc.get("InitialContactId") if isinstance(doc, dict) else None
            if not isinstance(named, str) or doc.get("InstanceId") != INSTANCE_ID:
                return ""
            contact = named
        return self._key(platform, contact)

    def _key(self, platform: Platform, contact: str) -> str:
        if len(platform) != self._indexed:
            self._index = {(split_leg_key(k)[1] or k): k for k in platform.interaction_ids()}
            self._indexed = len(platform)
        return self._index.get(contact, contact)

    def authorize(self, platform: Platform, method: str, path_qs: str,
                  headers: Mapping[str, str], body: bytes, now: float) -> Refusal | None:
        fields = parse_authorization(headers.get("Authorization"))
        if fields is None:
            return Refusal(403, "unauthorized", "Missing Authentication Token",
                           "MissingAuthenticationTokenException")
        if fields["region"] != REGION or fields["service"] != SERVICE:
            return Refusal(403, "token_invalid", "Credential should be scoped to a valid "
                           "region and service.", "InvalidSignatureException")
        skew = amz_date_skew(headers.get("X-Amz-Date"), now)
        if skew is None or skew > MAX_SKEW:
            return Refusal(400, "request_expired", "Signature expired.", "RequestExpired")
        token = headers.get("X-Amz-Security-Token")
        auth = platform.auth
        if token is None:
            secret = auth.client_secret if fields["access_key"] == auth.client_id else None
        else:
            denied = platform.check_token(f"Bearer {token}", now)
            if denied is not None:
                code = "ExpiredTokenException" if denied[0] == "token_expired" \
                    else "UnrecognizedClientException"
                return Refusal(403, denied[0], "The security token included in the request "
                               "is expired" if denied[0] == "token_expired" else
                               "The security token included in the request is invalid.", code)
            key_id, secret = temporary_secret(auth.client_secret, token)
            if key_id != fields["access_key"]:
                secret = None
        if secret is None:
            return Refusal(403, "token_invalid", "The security token included in the request "
                           "is invalid.", "UnrecognizedClientException")
        if not signature_matches(method, path_qs, headers, body, fields, secret, token):
            return Refusal(403, "bad_signature", "The request signature we calculated does "
                           "not match the signature you provided.", "InvalidSignatureException")
        return None

    def parse_wrapup(self, method: str, raw: bytes) -> str | Refusal:
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            doc = None
        attributes = doc.get("Attributes") if isinstance(doc, dict) else None
        value = attributes.get(ATTRIBUTE) if isinstance(attributes, dict) else None
        if not isinstance(value, str) or not value:
            return Refusal(400, "bad_request", f"Attributes.{ATTRIBUTE} is required.",
                           "InvalidParameterException")
        return value

    def error_body(self, status: int, message: str, code: str) -> bytes:
        return error_body(status, message, code)

    def not_found_message(self, key: str) -> str:
        return "Contact not found."

    def applied(self, platform: Platform, key: str, now: float) -> Reply:
        return Reply(200, b"{}", platform.state(key, now).value)

    def overwrite(self, platform: Platform, key: str, now: float) -> Reply | None:
        return Reply(200, b"{}", State.WRAPPED.value)

    def readback(self, platform: Platform, key: str, now: float) -> Reply:
        doc = platform.snapshot(key, now)
        code = doc["wrapupCode"]
        attributes = {"customerTier": "gold"}
        if code is not None:
            attributes[ATTRIBUTE] = code["id"]
        return Reply(200, orjson.dumps({"Attributes": attributes}), doc["state"])

    def credentials(self, platform: Platform, now: float) -> Reply:
        token, ttl = platform.issue_token(now)
        key_id, secret = temporary_secret(platform.auth.client_secret, token)
        return Reply(200, orjson.dumps({"AccessKeyId": key_id, "SecretAccessKey": secret,
                                        "Token": token, "Expiration": iso(now + ttl)}))

    # ---- events and plan

    def messages(self, platform: Platform, plan: PlannedInteraction,
                 transition: Transition) -> list[Message]:
        initial, leg = split_leg_key(plan.interaction_id)
        contact = leg or initial
        timeline = platform.lifecycle(plan.interaction_id).timeline

        def event(kind: str, acw: tuple[float, float] | None = None) -> bytes:
            return contact_event(kind, f"{contact}:{kind}", transition.at,
                                 contact_id=contact, initial_id=initial,
                                 agent_id=plan.agent_id, queue_id=plan.queue_id,
                                 disconnect_at=timeline.ended_at, acw=acw)

        if transition.state is State.WRAPPING_UP:
            return [Message(EventType.WRAPPING_UP, event("DISCONNECTED"))]
        if transition.state is not State.WRAPPED or transition.wrap is None:
            return []  # "ended": Connect's DISCONNECTED comes with the ACW start
        by = transition.wrap.by
        out = []
        if by is not By.PLATFORM:
            out.append(Message(EventType.WRAPPED, event("CONTACT_DATA_UPDATED")))
        if by is not By.API:
            out.append(Message(EventType.WRAPPED, event(
                "COMPLETED", (timeline.wrapping_up_at, transition.at))))
        return out

    def record_key(self, plan: PlannedInteraction) -> bytes:
        return split_leg_key(plan.interaction_id)[0].encode()

    def plan(self, params: WorkloadParams) -> Workload:
        return transfers(generate(params, connect_scenario()), self.transfer_every)

    def worker_env(self, base_url: str, auth: AuthConfig) -> dict[str, str]:
        env = {
            "WRAPUP_PLATFORM": "connect",
            "WRAPUP_CONNECT_INSTANCE_ID": INSTANCE_ID,
            "WRAPUP_CONNECT_REGION": REGION,
            "WRAPUP_CONNECT_ENDPOINT_URL": base_url,
            # Nothing from the developer's own AWS setup may leak in.
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
        }
        if self.credentials_mode == "container":
            env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = base_url + CREDENTIALS_PATH
        else:
            env["AWS_ACCESS_KEY_ID"] = auth.client_id
            env["AWS_SECRET_ACCESS_KEY"] = auth.client_secret
        return env

    def options(self) -> dict[str, Any]:
        return {"credentials": self.credentials_mode, "transfer_every": self.transfer_every}


def dialect(**options: Any) -> ConnectDialect:
    return ConnectDialect(**options)
