"""The Genesys profile's API side: wrap-up and read-back requests, answers, OAuth.

Set (``ConversationsApi``, ``WrapupInput``; permission ``conversation:participant:wrapup``)::

    POST {api}/api/v2/conversations/{media}/{conversationId}/participants/{participantId}
         /communications/{communicationId}/wrapup      {"code": <code id>, "name": <label>}

``code`` is the policy code's ID (the Genesys wrap-up code ID), ``name`` its label. No
``notes``, ``tags``, ``durationSeconds`` or ``endTime``: the platform measures ACW itself,
and the agent's notes are not ours to write. When no event has carried the leg's
communication ID (the flat ``...conversations.calls`` topic has none), the documented
alternative is used — one request, as the seam makes, rather than a GET of the
conversation first::

    PATCH {api}/api/v2/conversations/{media}/{conversationId}/participants/{participantId}
          {"wrapup": {"code", "name"}}       (``MediaParticipantRequest``: only ``wrapup``;
                                              any other field acts on the call)

Read back: ``GET .../communications/{communicationId}/wrapup`` (or the participant's
``.../participants/{participantId}/wrapup``), answering ``AssignedWrapupCode``; a leg
without a participant (replay's probe) reads ``GET /api/v2/conversations/{id}``.
Answers: :mod:`.answers`. Auth: client credentials at ``https://login.{region}/oauth/token``
(HTTP Basic id:secret, :class:`~streams.delivery.auth.ClientCredentials`), or a static
token. Requests carry absolute URLs (the region's API host), so ``WRAPUP_API_BASE_URL``
plays no part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from streams.delivery.auth import ClientCredentials, StaticToken, TokenSource
from streams.delivery.bearer import BearerAuth
from streams.platforms.base import Answer, ApiRequest, Leg, WrapupView
from streams.platforms.genesys.answers import classify, readback_view
from streams.platforms.genesys.regions import Endpoints
from streams.platforms.genesys.topics import MEDIA
from streams.policy import WrapupCode

DEFAULT_MEDIA = "calls"


@dataclass(frozen=True, slots=True)
class Credentials:
    """An OAuth client (client-credentials grant), or a static bearer token."""

    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    static_token: str | None = field(default=None, repr=False)

    def source(self, client: httpx.AsyncClient, token_url: str,
               clock: Callable[[], float]) -> TokenSource:
        if self.client_id and self.client_secret:
            return ClientCredentials(client, token_url, self.client_id, self.client_secret,
                                     clock=clock)
        return StaticToken(self.static_token)


def _seg(value: str) -> str:
    return quote(value, safe="")


class GenesysApi:
    """Requests to one region's API (or the configured URLs)."""

    def __init__(self, endpoints: Endpoints, credentials: Credentials) -> None:
        self.endpoints = endpoints
        self.credentials = credentials

    def __repr__(self) -> str:
        return f"GenesysApi({self.endpoints!r}, {self.credentials!r})"

    def auth(self, client: httpx.AsyncClient, *, clock: Callable[[], float]) -> BearerAuth:
        return BearerAuth(self.credentials.source(client, self.endpoints.token_url, clock))

    def _participant(self, leg: Leg) -> str:
        if leg.leg_id is None:
            raise ValueError("a Genesys wrap-up is set on a participant: the leg has none")
        media = leg.media_type if leg.media_type in MEDIA else DEFAULT_MEDIA
        return (f"{self.endpoints.api_url}/api/v2/conversations/{media}/"
                f"{_seg(leg.interaction_id)}/participants/{_seg(leg.leg_id)}")

    def wrapup_request(self, leg: Leg, code: WrapupCode) -> ApiRequest:
        body = {"code": code.id, "name": code.label}
        participant = self._participant(leg)
        if leg.communication_id is None:
            return ApiRequest.json("wrapup", "PATCH", participant, {"wrapup": body})
        return ApiRequest.json(
            "wrapup", "POST",
            f"{participant}/communications/{_seg(leg.communication_id)}/wrapup", body)

    def classify(self, response: httpx.Response, now: float) -> Answer:
        return classify(response, now)

    def readback_request(self, leg: Leg) -> ApiRequest:
        if leg.leg_id is None:
            return ApiRequest("interaction", "GET", f"{self.endpoints.api_url}/api/v2/"
                              f"conversations/{_seg(leg.interaction_id)}")
        participant = self._participant(leg)
        if leg.communication_id is None:
            return ApiRequest("interaction", "GET", f"{participant}/wrapup")
        return ApiRequest("interaction", "GET", f"{participant}/communications/"
                          f"{_seg(leg.communication_id)}/wrapup")

    def parse_readback(self, response: httpx.Response) -> WrapupView | None:
        return readback_view(response)
