"""The ``WRAPUP_TWILIO_*`` settings, validated with one-line errors naming the variable.

Credentials are one pair, chosen by what is set: an API key (``WRAPUP_TWILIO_API_KEY_SID``
and ``..._SECRET``, Twilio's recommendation for server-side code) or the account's auth
token (``WRAPUP_TWILIO_ACCOUNT_SID`` and ``..._AUTH_TOKEN``). Each half may come from a
file (``..._FILE``, a mounted Secret); a file-backed credential is re-read after a 401,
so a rotation is picked up without a restart (:mod:`.auth`). Errors never quote a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from streams.config_reader import EnvReader
from streams.variables import ConfigError

TASKROUTER = "https://taskrouter.twilio.com"  # the TaskRouter REST API's host
_SID = {prefix: re.compile(rf"{prefix}[0-9a-fA-F]{{32}}") for prefix in ("WS", "AC", "SK")}
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_KIND = {"WS": "a workspace SID", "AC": "an account SID", "SK": "an API key SID"}


@dataclass(frozen=True, slots=True)
class Credential:
    """One half of the Basic credentials: its value now, and the file it came from."""

    value: str = field(repr=False)
    path: str | None = None  # re-read after a 401 when set
    variable: str = ""  # the variable it came from (errors, logs)


@dataclass(frozen=True, slots=True)
class TwilioSettings:
    """What the twilio dialect needs, read once at start."""

    workspace_sid: str
    username: Credential  # API key SID or account SID
    password: Credential  # API key secret or auth token
    queue_field: str = "sid"  # "sid" | "name": what the policy's queue rules name
    campaign_path: tuple[str, ...] = ("campaign",)
    base: str = TASKROUTER  # "" when WRAPUP_API_BASE_URL is set: paths relative to it


def read(env: Mapping[str, str]) -> TwilioSettings:
    """The twilio settings from ``env`` (the declared variables that are set)."""
    r = EnvReader(env)
    workspace = r.optional("WRAPUP_TWILIO_WORKSPACE_SID")
    if workspace is None:
        raise ConfigError("WRAPUP_TWILIO_WORKSPACE_SID: required with WRAPUP_PLATFORM=twilio")
    _check_sid("WRAPUP_TWILIO_WORKSPACE_SID", workspace, "WS")
    username, password = _credentials(r)
    path = r.text("WRAPUP_TWILIO_CAMPAIGN_ATTRIBUTE")
    segments = tuple(path.split("."))
    if not all(_PATH_SEGMENT.fullmatch(s) for s in segments):
        raise ConfigError(f"WRAPUP_TWILIO_CAMPAIGN_ATTRIBUTE: {path[:80]!r} is not a dotted "
                          "attribute path (letters, digits, '_', '-' between dots)")
    return TwilioSettings(
        workspace_sid=workspace,
        username=username,
        password=password,
        queue_field=r.choice("WRAPUP_TWILIO_QUEUE_FIELD", ("sid", "name")),
        campaign_path=segments,
        base="" if env.get("WRAPUP_API_BASE_URL", "").strip() else TASKROUTER,
    )


def _credentials(r: EnvReader) -> tuple[Credential, Credential]:
    key = _credential(r, "WRAPUP_TWILIO_API_KEY_SID")
    key_secret = _credential(r, "WRAPUP_TWILIO_API_KEY_SECRET")
    account = r.optional("WRAPUP_TWILIO_ACCOUNT_SID")
    token = _credential(r, "WRAPUP_TWILIO_AUTH_TOKEN")
    if key is not None or key_secret is not None:
        if token is not None:
            raise ConfigError("WRAPUP_TWILIO_AUTH_TOKEN: set an API key or the auth token, "
                              "not both")
        if key is None:
            raise ConfigError("WRAPUP_TWILIO_API_KEY_SID: required with "
                              "WRAPUP_TWILIO_API_KEY_SECRET")
        if key_secret is None:
            raise ConfigError("WRAPUP_TWILIO_API_KEY_SECRET: required with "
                              "WRAPUP_TWILIO_API_KEY_SID (or WRAPUP_TWILIO_API_KEY_SECRET_FILE)")
        _check_sid(key.variable, key.value, "SK", quote=key.path is None)
        if account is not None:
            _check_sid("WRAPUP_TWILIO_ACCOUNT_SID", account, "AC")
        return key, key_secret
    if token is None:
        raise ConfigError("WRAPUP_TWILIO_API_KEY_SID: required with WRAPUP_PLATFORM=twilio "
                          "(with WRAPUP_TWILIO_API_KEY_SECRET; or WRAPUP_TWILIO_ACCOUNT_SID "
                          "and WRAPUP_TWILIO_AUTH_TOKEN)")
    if account is None:
        raise ConfigError("WRAPUP_TWILIO_ACCOUNT_SID: required with WRAPUP_TWILIO_AUTH_TOKEN")
    _check_sid("WRAPUP_TWILIO_ACCOUNT_SID", account, "AC")
    return Credential(account, None, "WRAPUP_TWILIO_ACCOUNT_SID"), token


def _credential(r: EnvReader, name: str) -> Credential | None:
    value = r.secret(name)  # the value or its file's content; one-line errors
    if value is None:
        return None
    return Credential(value, r.raw(f"{name}_FILE"), name)


def _check_sid(name: str, value: str, prefix: str, *, quote: bool = True) -> None:
    if not _SID[prefix].fullmatch(value):
        shown = f"{value[:40]!r} " if quote else ""
        raise ConfigError(f"{name}: {shown}is not {_KIND[prefix]} ({prefix} and 32 hex "
                          "digits)")
