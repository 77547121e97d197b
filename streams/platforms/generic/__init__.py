"""The generic dialect (the simulator's): ``interaction:*`` events, templated requests."""

from __future__ import annotations

from streams.config import Settings
from streams.platforms.base import Platform
from streams.platforms.generic.api import Credentials, GenericApi
from streams.platforms.generic.events import GenericEvents
from streams.platforms.generic.templates import Templates

__all__ = ["Credentials", "GenericApi", "GenericEvents", "Templates", "build"]


def build(settings: Settings) -> Platform:
    """The generic platform from the ``WRAPUP_API_*`` and ``WRAPUP_OAUTH_*`` settings."""
    templates = Templates(
        settings.api_wrapup_path, settings.api_interaction_path, settings.api_body_template
    )
    credentials = Credentials(
        token_url=settings.oauth_token_url or "/oauth/token",
        client_id=settings.oauth_client_id,
        client_secret=settings.oauth_client_secret,
        static_token=settings.api_token,
    )
    return Platform("generic", GenericEvents(), GenericApi(templates, credentials))
