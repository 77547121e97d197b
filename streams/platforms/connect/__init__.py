"""The Amazon Connect dialect: EventBridge contact events in, contact attributes out.

Events: :mod:`.events` (DISCONNECTED / COMPLETED with an agent → ended + wrapping-up per
contact). API: :mod:`.api` (``UpdateContactAttributes`` after a read-back,
``GetContactAttributes``), :mod:`.answers` (AWS JSON errors), :mod:`.sigv4` (botocore's
signer as an ``httpx.Auth``), :mod:`.credentials` (botocore's standard chain). Settings:
:mod:`.settings` (``WRAPUP_CONNECT_*``).
"""

from __future__ import annotations

from streams.config import Settings
from streams.platforms.base import Platform
from streams.platforms.connect.api import ConnectApi
from streams.platforms.connect.events import ConnectEvents
from streams.platforms.connect.settings import ConnectSettings, read_settings

__all__ = ["ConnectApi", "ConnectEvents", "ConnectSettings", "build"]


def build(settings: Settings) -> Platform:
    """The Connect platform from the ``WRAPUP_CONNECT_*`` settings."""
    return Platform("connect", ConnectEvents(), ConnectApi(read_settings(settings.platform_env)))
