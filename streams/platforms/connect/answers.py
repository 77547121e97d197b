"""What Amazon Connect's answers mean: AWS JSON errors and the attributes read-back.

Errors (rest-json protocol, as botocore's parser reads them; the codes common to every
AWS service are on the "Common Errors" page of the AWS documentation): the code is the
``x-amzn-ErrorType`` header, else the body's ``__type`` / ``code``, trimmed of a
``:...`` suffix and a ``namespace#`` prefix; the message is ``message`` / ``Message``.
The service model (botocore ``connect/2017-08-08``) gives the statuses:

=================================================  ==============================================
2xx                                                applied
429 or ThrottlingException (400 in the common      rate limited (AWS sends no Retry-After:
  errors), TooManyRequests, LimitExceeded          back off)
400/401/403 ExpiredToken, ExpiredTokenException,   unauthorized (``credentials_rejected``): the
  UnrecognizedClient, InvalidSignature, ...        auth flow has re-resolved the credentials
403 AccessDeniedException                          permanent ``forbidden`` (the IAM policy)
404 ResourceNotFoundException                      permanent ``not_found``
400 InvalidRequest/InvalidParameter/...            permanent ``bad_request``
5xx InternalServiceException, 408                  transient ``server_error``
=================================================  ==============================================

``UpdateContactAttributes`` never refuses an overwrite, so there is no conflict answer:
the dispatcher reads back before every write instead (``read_before_write``).
"""

from __future__ import annotations

import httpx
import orjson

from streams.platforms.base import Answer, Verdict, WrapupView
from streams.platforms.statuses import answer_for_status

THROTTLED = frozenset({"ThrottlingException", "TooManyRequestsException",
                       "LimitExceededException", "Throttling", "ThrottledException"})
# AWS common errors (all services) that new credentials or a new signature may cure:
# expired temporary credentials, a key unknown (rotated), a stale date stamp.
_CREDENTIALS = frozenset({
    "ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId",
    "UnrecognizedClientException", "InvalidSignatureException",
})


def error_code(response: httpx.Response) -> str | None:
    """The AWS error code of ``response`` (None when it carries none)."""
    code = response.headers.get("x-amzn-ErrorType")
    if not code:
        try:
            body = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict):
            for key in ("__type", "code", "Code"):
                value = body.get(key)
                if isinstance(value, str) and value:
                    code = value
                    break
    if not code:
        return None
    return code.split(":", 1)[0].rsplit("#", 1)[-1].strip()[:64] or None


def credentials_rejected(response: httpx.Response) -> bool:
    """True when ``response`` says the signing credentials expired or are unknown."""
    return response.status_code in (400, 401, 403) and error_code(response) in _CREDENTIALS


def classify(response: httpx.Response, now: float) -> Answer:
    """The table above; ``now`` is epoch seconds."""
    status = response.status_code
    if 200 <= status < 300:
        return Answer(Verdict.APPLIED, "posted")
    code = error_code(response)
    if status == 429 or code in THROTTLED:
        return answer_for_status(response, now) if status == 429 else \
            Answer(Verdict.RATE_LIMITED, "rate_limited")
    if credentials_rejected(response):
        return Answer(Verdict.UNAUTHORIZED, "unauthorized")
    if status == 403:
        return Answer(Verdict.PERMANENT, "forbidden")
    return answer_for_status(response, now)


def attributes_view(response: httpx.Response, code_attribute: str) -> WrapupView | None:
    """A ``GetContactAttributes`` answer (``{"Attributes": {...}}``) as a view: wrapped
    when ``code_attribute`` holds a value (whoever wrote it). A write is always accepted,
    so ``wrapping_up`` is simply "not wrapped". None for anything else."""
    if not 200 <= response.status_code < 300:
        return None
    try:
        doc = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict):
        return None
    attributes = doc.get("Attributes", {})
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, dict):
        return None
    value = attributes.get(code_attribute)
    code = value if isinstance(value, str) and value else None
    return WrapupView(code is not None, code, code is None,
                      "attribute set" if code is not None else "attribute not set")
