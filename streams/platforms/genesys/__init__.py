"""The Genesys Cloud profile: notification / EventBridge payloads in, per-leg wrap-ups out.

Settings (``WRAPUP_GENESYS_*``, read from ``settings.platform_env``): the region, or the
API and login URLs; credentials are the common ``WRAPUP_OAUTH_CLIENT_ID`` /
``WRAPUP_OAUTH_CLIENT_SECRET`` (client credentials, the profile's default) or
``WRAPUP_API_TOKEN`` (a token obtained elsewhere, e.g. for a user-authorized app).
"""

from __future__ import annotations

from streams.config import Settings
from streams.config_reader import EnvReader
from streams.platforms.base import Platform
from streams.platforms.genesys.api import Credentials, GenesysApi
from streams.platforms.genesys.events import GenesysEvents
from streams.platforms.genesys.regions import REGIONS, Endpoints, endpoints
from streams.variables import ConfigError

__all__ = ["REGIONS", "Credentials", "Endpoints", "GenesysApi", "GenesysEvents", "build"]


def build(settings: Settings) -> Platform:
    """The profile from the settings; :class:`ConfigError` (one line) when they are bad."""
    r = EnvReader(settings.platform_env)
    where = endpoints(r.optional("WRAPUP_GENESYS_REGION"), r.optional("WRAPUP_GENESYS_API_URL"),
                      r.optional("WRAPUP_GENESYS_LOGIN_URL"))
    if not (settings.oauth_client_id and settings.oauth_client_secret) and not settings.api_token:
        raise ConfigError("WRAPUP_OAUTH_CLIENT_ID: the genesys platform needs an OAuth client "
                          "(WRAPUP_OAUTH_CLIENT_ID and WRAPUP_OAUTH_CLIENT_SECRET) or "
                          "WRAPUP_API_TOKEN")
    credentials = Credentials(settings.oauth_client_id, settings.oauth_client_secret,
                              settings.api_token)
    return Platform("genesys", GenesysEvents(), GenesysApi(where, credentials))
