"""HTTP Basic auth for the TaskRouter API, with the credential files re-read after a 401.

Twilio authenticates REST calls with Basic ``API key SID:secret`` (or ``account SID:auth
token``). There is no token to refresh: a 401 means the credentials are wrong or were
rotated (an API key deleted, a secondary auth token promoted). When a half came from a
file (``WRAPUP_TWILIO_*_FILE``, a mounted Secret that the platform updates in place), the
flow re-reads the files after a 401 and, if they changed, re-sends once with the new
pair; such an auth is :attr:`refreshable`, so the dispatcher also retries a 401 within
its attempts (a Secret's update reaches the pod some seconds after the rotation).
Credentials given as plain variables cannot change: a 401 is final.

No secret is ever put in a log record, an exception message or a ``repr``.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Generator
from pathlib import Path

import httpx

from streams.platforms.base import ApiAuth
from streams.platforms.twilio.settings import Credential

log = logging.getLogger(__name__)


class TwilioBasicAuth(ApiAuth):
    """``Authorization: Basic`` from two credentials; file-backed ones re-read on 401."""

    requires_request_body = False
    requires_response_body = False

    def __init__(self, username: Credential, password: Credential) -> None:
        self._username = username
        self._password = password
        self._pair = (username.value, password.value)

    def __repr__(self) -> str:
        return f"TwilioBasicAuth(user from {self._username.variable}, <redacted>)"

    @property
    def refreshable(self) -> bool:
        return self._username.path is not None or self._password.path is not None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        pair = self._pair
        request.headers["Authorization"] = _basic(*pair)
        response = yield request
        if response.status_code != 401 or not self.refreshable:
            return
        fresh = self._reload()
        if fresh == pair:
            return  # the files hold what was just refused: nothing new to try
        request.headers["Authorization"] = _basic(*fresh)
        yield request

    def _reload(self) -> tuple[str, str]:
        """The pair as the files hold it now (a half that cannot be read keeps its value)."""
        user = _read(self._username) or self._pair[0]
        secret = _read(self._password) or self._pair[1]
        if (user, secret) != self._pair:
            log.info("twilio credentials changed on disk after a 401; using the new ones")
            self._pair = (user, secret)
        return self._pair


def _read(credential: Credential) -> str | None:
    if credential.path is None:
        return None
    try:
        text = Path(credential.path).read_text()
    except (OSError, UnicodeDecodeError):
        log.warning("%s_FILE cannot be read after a 401", credential.variable)
        return None
    text = text.rstrip("\r\n")
    return text if text and "\n" not in text and "\r" not in text else None


def _basic(user: str, secret: str) -> str:
    token = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
    return f"Basic {token}"
