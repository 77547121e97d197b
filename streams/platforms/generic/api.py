"""The generic dialect's API side: templated paths and JSON body, bearer-token auth.

Requests: ``POST`` the configured wrap-up path with the body template filled in, ``GET``
the interaction path to read back (paths from ``WRAPUP_API_*``). Answers: a 409 is
classified by its body (:mod:`.answers`), every other status by the default table
(:mod:`streams.platforms.statuses`). Auth: OAuth2 client credentials when a client ID
and secret are configured, else the static token (or none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import orjson

from streams.delivery.auth import ClientCredentials, StaticToken, TokenSource
from streams.delivery.bearer import BearerAuth
from streams.platforms.base import Answer, ApiRequest, Conflict, Leg, Verdict, WrapupView
from streams.platforms.generic.answers import classify_conflict, interaction_view
from streams.platforms.generic.templates import Templates
from streams.platforms.statuses import answer_for_status
from streams.policy import WrapupCode


@dataclass(frozen=True, slots=True)
class Credentials:
    """Bearer credentials: OAuth2 client credentials when both halves are set."""

    token_url: str = "/oauth/token"
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    static_token: str | None = field(default=None, repr=False)

    def source(self, client: httpx.AsyncClient, clock: Callable[[], float]) -> TokenSource:
        if self.client_id and self.client_secret:
            return ClientCredentials(
                client, self.token_url, self.client_id, self.client_secret, clock=clock
            )
        return StaticToken(self.static_token)


class GenericApi:
    """Requests from :class:`Templates`, answers as the simulator gives them."""

    def __init__(self, templates: Templates, credentials: Credentials) -> None:
        self.templates = templates
        self.credentials = credentials

    def __repr__(self) -> str:
        return f"GenericApi({self.credentials!r})"

    def auth(self, client: httpx.AsyncClient, *, clock: Callable[[], float]) -> BearerAuth:
        return BearerAuth(self.credentials.source(client, clock))

    def wrapup_request(self, leg: Leg, code: WrapupCode) -> ApiRequest:
        path = self.templates.wrapup_path(leg.interaction_id)
        return ApiRequest.json("wrapup", "POST", path, self.templates.body(code))

    def classify(self, response: httpx.Response, now: float) -> Answer:
        if response.status_code != 409:
            return answer_for_status(response, now)
        conflict = classify_conflict(response.content)
        if conflict is Conflict.NOT_READY:
            return Answer(Verdict.NOT_READY, conflict.value, conflict)
        return Answer(Verdict.READ_BACK, conflict.value, conflict)

    def readback_request(self, leg: Leg) -> ApiRequest:
        return ApiRequest("interaction", "GET", self.templates.interaction_path(leg.interaction_id))

    def parse_readback(self, response: httpx.Response) -> WrapupView | None:
        if not 200 <= response.status_code < 300:
            return None
        try:
            return interaction_view(orjson.loads(response.content))
        except orjson.JSONDecodeError:
            return None
