"""AWS Signature Version 4 for every API request, with botocore's signer.

:func:`sign` hands botocore's ``SigV4Auth`` a request holding only the headers that
must be signed (``Host``, ``Content-Type`` when there is one, ``X-Amz-Date``,
``X-Amz-Security-Token`` for temporary credentials): whatever else httpx or a proxy adds
or changes on the way cannot break the signature. botocore writes ``Authorization`` and
the date; they are copied onto the httpx request. Why botocore rather than by hand: the
canonical request (URI encoding, header folding, payload hash) is where hand-written
signers go wrong, and botocore's is the one every AWS SDK for Python uses.

:class:`SigV4Auth` is the ``httpx.Auth`` flow: sign with the chain's current
credentials, send; when the answer says the credentials expired or are no longer valid
(401 / 403 / 400 with ``ExpiredToken`` and its kin, read from ``x-amzn-ErrorType`` or the
body), resolve the chain again, sign anew and re-send once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator

import httpx

from streams import metrics
from streams.platforms.base import ApiAuth
from streams.platforms.connect.answers import credentials_rejected, error_code
from streams.platforms.connect.credentials import CredentialChain, Frozen

log = logging.getLogger(__name__)

SERVICE = "connect"  # the service model's signingName


def sign(request: httpx.Request, credentials: Frozen, region: str, *,
         service: str = SERVICE) -> None:
    """Sign ``request`` in place (SigV4, headers ``Authorization`` and ``X-Amz-Date``, and
    ``X-Amz-Security-Token`` for temporary credentials), at botocore's clock."""
    from botocore.auth import SigV4Auth as BotocoreSigV4
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import ReadOnlyCredentials

    headers = {"Host": request.url.netloc.decode("ascii")}
    body = request.content
    if "Content-Type" in request.headers:
        headers["Content-Type"] = request.headers["Content-Type"]
    aws = AWSRequest(method=request.method, url=str(request.url), data=body, headers=headers)
    signer = BotocoreSigV4(ReadOnlyCredentials(*credentials), service, region)
    signer.add_auth(aws)
    for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
        value = aws.headers.get(name)
        if value is None:
            request.headers.pop(name, None)
        else:
            request.headers[name] = value


class SigV4Auth(ApiAuth):
    """Sign every request; re-resolve the credentials and re-send once when rejected."""

    requires_response_body = True  # the error code may be in the body only

    def __init__(self, chain: CredentialChain, region: str) -> None:
        self.chain = chain
        self.region = region

    def __repr__(self) -> str:
        return f"SigV4Auth({self.chain!r}, region={self.region})"

    @property
    def refreshable(self) -> bool:
        return self.chain.refreshable

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        credentials = await self.chain.current()
        sign(request, credentials, self.region)
        response = yield request
        if not credentials_rejected(response):
            return
        self.chain.invalidate(credentials)
        if not self.chain.refreshable:
            return
        metrics.RETRIES.labels(reason="unauthorized").inc()
        log.info("%s request: AWS credentials rejected (%s); resolving them again",
                 request.method, error_code(response))
        credentials = await self.chain.current()
        sign(request, credentials, self.region)
        yield request
