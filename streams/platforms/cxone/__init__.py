"""The NICE CXone dialect: agent-session events, dispositions on agent sessions.

:mod:`.events` reads ``get-next-event`` records, :mod:`.api` builds the disposition POST
and read-back, :mod:`.auth` runs the access-key token and API discovery. ``build`` reads
the ``WRAPUP_CXONE_*`` settings and refuses a policy whose codes are not numeric
disposition IDs, each with a one-line error naming the variable.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from streams.config import ConfigError, Settings
from streams.config_reader import EnvReader
from streams.platforms.base import Platform
from streams.platforms.cxone.api import CxoneApi, disposition_id
from streams.platforms.cxone.auth import AccessKey, AccessKeySession, CxoneAuth
from streams.platforms.cxone.events import CxoneEvents

__all__ = ["AccessKey", "AccessKeySession", "CxoneApi", "CxoneAuth", "CxoneEvents", "build",
           "read_access_key"]


def build(settings: Settings) -> Platform:
    """The CXone platform from ``WRAPUP_CXONE_*``; :class:`ConfigError` when one is bad."""
    policy_variable = ("WRAPUP_POLICY_FILE" if settings.policy_file is not None
                       else "WRAPUP_POLICY_JSON")
    for index, rule in enumerate(settings.policy.rules):
        try:
            disposition_id(rule.code)
        except ValueError as exc:
            raise ConfigError(f"{policy_variable}: rules[{index}]: {exc}") from None
    reader = EnvReader(settings.platform_env)
    api = CxoneApi(read_access_key(reader), reader.optional("WRAPUP_CXONE_NOTES"))
    return Platform("cxone", CxoneEvents(), api)


def read_access_key(reader: EnvReader) -> AccessKey:
    """The issuer and the four credentials; all required (one-line errors)."""
    issuer = reader.url("WRAPUP_CXONE_ISSUER")
    if urlsplit(issuer).path not in ("", "/") or urlsplit(issuer).query:
        raise ConfigError(f"WRAPUP_CXONE_ISSUER: {issuer!r} must be a host URL, without a path")
    values: dict[str, str] = {}
    for name in ("WRAPUP_CXONE_CLIENT_ID", "WRAPUP_CXONE_ACCESS_KEY_ID"):
        values[name] = reader.text(name)
    for name in ("WRAPUP_CXONE_CLIENT_SECRET", "WRAPUP_CXONE_ACCESS_KEY_SECRET"):
        secret = reader.secret(name)
        if secret is None:
            raise ConfigError(f"{name}: required with WRAPUP_PLATFORM=cxone (or {name}_FILE)")
        values[name] = secret
    tenant = reader.optional("WRAPUP_CXONE_TENANT_ID")
    if tenant is not None and not all(c.isascii() and (c.isalnum() or c in "-_") for c in tenant):
        raise ConfigError(f"WRAPUP_CXONE_TENANT_ID: {tenant!r} is not a tenant ID")
    return AccessKey(issuer=issuer.rstrip("/"),
                     client_id=values["WRAPUP_CXONE_CLIENT_ID"],
                     client_secret=values["WRAPUP_CXONE_CLIENT_SECRET"],
                     access_key_id=values["WRAPUP_CXONE_ACCESS_KEY_ID"],
                     access_key_secret=values["WRAPUP_CXONE_ACCESS_KEY_SECRET"],
                     tenant_id=tenant)
