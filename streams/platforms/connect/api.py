"""The Amazon Connect API side: contact attributes as the wrap-up, SigV4 auth.

Amazon Connect has no wrap-up code API; the code is a user-defined contact attribute
(``WRAPUP_CONNECT_ATTRIBUTE``, and optionally the label in a second one). Per the
botocore service model (``connect`` 2017-08-08) and the API reference:

* write: ``UpdateContactAttributes`` = ``POST /contact/attributes``, JSON
  ``{"InstanceId", "InitialContactId", "Attributes": {name: value}}``, empty answer;
  accepted for ongoing and completed contacts (kept 24 months);
* read back: ``GetContactAttributes`` = ``GET /contact/attributes/{InstanceId}/{InitialContactId}``,
  answer ``{"Attributes": {...}}``.

The contact ID sent is the leg's own contact (``leg_id``, else the interaction's: the
initial contact). The API names the field ``InitialContactId``; a transferred contact
has a contact record and attributes of its own, and each agent leg is wrapped on it.

An update overwrites whatever is there and never refuses, so this side declares
``read_before_write``: the dispatcher reads the attribute back before every write, and a
value already there (by anyone) is final — ours: already applied; another: skipped.
What remains is the time between that read and the write (milliseconds); Connect offers
no conditional update to close it.

Requests carry absolute URLs (the instance's Regional endpoint or
``WRAPUP_CONNECT_ENDPOINT_URL``), so ``WRAPUP_API_BASE_URL`` does not apply.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import httpx

from streams.platforms.base import Answer, ApiRequest, Leg, WrapupView
from streams.platforms.connect.answers import attributes_view, classify
from streams.platforms.connect.credentials import CredentialChain
from streams.platforms.connect.settings import ConnectSettings
from streams.platforms.connect.sigv4 import SigV4Auth
from streams.policy import WrapupCode


class ConnectApi:
    """Requests and answers of the contact-attributes API."""

    read_before_write = True  # the write never refuses an overwrite: read back first

    def __init__(self, settings: ConnectSettings,
                 chain: Callable[[], CredentialChain] = CredentialChain) -> None:
        self.settings = settings
        self._chain = chain

    def __repr__(self) -> str:
        return (f"ConnectApi(instance={self.settings.instance_id}, "
                f"region={self.settings.region}, endpoint={self.settings.endpoint})")

    def auth(self, client: httpx.AsyncClient, *, clock: Callable[[], float]) -> SigV4Auth:
        return SigV4Auth(self._chain(), self.settings.region)

    def wrapup_request(self, leg: Leg, code: WrapupCode) -> ApiRequest:
        s = self.settings
        attributes = {s.code_attribute: code.id}
        if s.label_attribute is not None:
            attributes[s.label_attribute] = code.label
        body = {"InstanceId": s.instance_id, "InitialContactId": _contact(leg),
                "Attributes": attributes}
        return ApiRequest.json("wrapup", "POST", f"{s.endpoint}/contact/attributes", body)

    def classify(self, response: httpx.Response, now: float) -> Answer:
        return classify(response, now)

    def readback_request(self, leg: Leg) -> ApiRequest:
        s = self.settings
        path = (f"{s.endpoint}/contact/attributes/{quote(s.instance_id, safe='')}/"
                f"{quote(_contact(leg), safe='')}")
        return ApiRequest("interaction", "GET", path)

    def parse_readback(self, response: httpx.Response) -> WrapupView | None:
        return attributes_view(response, self.settings.code_attribute)


def _contact(leg: Leg) -> str:
    return leg.leg_id or leg.interaction_id
