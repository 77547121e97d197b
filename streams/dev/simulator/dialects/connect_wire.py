"""Amazon Connect's wire for the simulator: contact-event records, AWS error bodies, and a
SigV4 verifier (botocore re-signs what the request says it signed).

The records follow the contact events page of the Amazon Connect Administrator Guide
(the shapes of :mod:`tests.platforms.connect.fixtures`); the errors the AWS rest-json
shape (``__type``, ``message``) with the codes of the botocore ``connect`` model and the
AWS common errors.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

INSTANCE_ID = "0000c0de-0000-4000-8000-00000000c0de"
REGION = "us-east-1"
ACCOUNT = "111122223333"
SERVICE = "connect"
MAX_SKEW = 15 * 60.0  # RequestExpired beyond this (the AWS common errors' 15 minutes)
INSTANCE_ARN = f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/{INSTANCE_ID}"

# The simulator's generic error codes -> AWS error codes.
_AWS_CODES = {
    "too.many.requests": "TooManyRequestsException",
    "not.found": "ResourceNotFoundException",
    "gateway.timeout": "InternalServiceException",
    "bad.request": "InvalidRequestException",
    "bad.request.invalid.wrapup.code": "InvalidParameterException",
}


def iso(at: float) -> str:
    """Connect's timestamp format: ISO-8601, milliseconds, ``Z``."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def contact_event(event_type: str, event_id: str, at: float, *, contact_id: str,
                  initial_id: str, agent_id: str, queue_id: str, disconnect_at: float,
                  acw: tuple[float, float] | None = None) -> bytes:
    """One EventBridge "Amazon Connect Contact Event" record."""
    agent: dict[str, Any] = {"agentArn": f"{INSTANCE_ARN}/agent/{agent_id}"}
    if acw is not None:
        agent.update(afterContactWorkStartTimestamp=iso(acw[0]),
                     afterContactWorkEndTimestamp=iso(acw[1]),
                     afterContactWorkDuration=round(acw[1] - acw[0]))
    detail: dict[str, Any] = {
        "eventType": event_type, "contactId": contact_id, "initialContactId": initial_id,
        "channel": "VOICE", "instanceArn": INSTANCE_ARN,
        "initiationMethod": "INBOUND" if contact_id == initial_id else "TRANSFER",
        "disconnectTimestamp": iso(disconnect_at),
        "queueInfo": {"queueArn": f"{INSTANCE_ARN}/queue/{queue_id}", "queueType": "STANDARD"},
        "agentInfo": agent,
    }
    if contact_id != initial_id:
        detail["previousContactId"] = initial_id
    return orjson.dumps({
        "version": "0", "id": event_id, "detail-type": "Amazon Connect Contact Event",
        "source": "aws.connect", "account": ACCOUNT, "time": iso(at)[:19] + "Z",
        "region": REGION, "resources": [f"{INSTANCE_ARN}/contact/{contact_id}", INSTANCE_ARN],
        "detail": detail,
    })


def error_body(status: int, message: str, code: str) -> bytes:
    """An AWS rest-json error body (botocore reads ``__type`` and ``message``)."""
    if "." in code or not code:
        aws = _AWS_CODES.get(code) or ("InternalServiceException" if status >= 500
                                       else "InvalidRequestException")
    else:
        aws = code
    return orjson.dumps({"__type": aws, "message": message})


def temporary_secret(master: str, token: str) -> tuple[str, str]:
    """(access key ID, secret key) of the temporary credentials for session ``token``."""
    digest = hmac.new(master.encode(), token.encode(), hashlib.sha256).hexdigest()
    return "ASIA" + digest[:16].upper(), digest[16:56]


def parse_authorization(header: str | None) -> dict[str, str] | None:
    """The fields of a SigV4 ``Authorization`` header, or None when it is not one."""
    if not header or not header.startswith("AWS4-HMAC-SHA256 "):
        return None
    try:
        fields = dict(part.strip().split("=", 1) for part in header[17:].split(","))
        access_key, date, region, service, _ = fields["Credential"].split("/")
    except (ValueError, KeyError):
        return None
    return {"access_key": access_key, "date": date, "region": region, "service": service,
            "signed": fields.get("SignedHeaders", ""), "signature": fields.get("Signature", "")}


def signature_matches(method: str, path_qs: str, headers: Mapping[str, str], body: bytes,
                      fields: dict[str, str], secret: str, token: str | None) -> bool:
    """Re-sign with botocore from the headers the request says it signed; compare."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import ReadOnlyCredentials

    names = [n for n in fields["signed"].split(";") if n]
    if "host" not in names or "x-amz-date" not in names:
        return False
    try:
        signed = {name: headers[name] for name in names}
    except KeyError:
        return False
    aws = AWSRequest(method=method, url=f"http://{headers['host']}{path_qs}", data=body,
                     headers=signed)
    aws.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(ReadOnlyCredentials(fields["access_key"], secret, token),
                       fields["service"], fields["region"])
    expected = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
    return hmac.compare_digest(expected, fields["signature"])


def amz_date_skew(value: str | None, now: float) -> float | None:
    """Seconds between an ``X-Amz-Date`` and ``now``; None when unreadable."""
    if value is None:
        return None
    try:
        at = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None
    return abs(now - at)
