"""Platform dialects behind one seam (:mod:`.base`); one folder per platform.

:func:`load` builds a platform by name; each dialect is a package with a
``build(settings) -> Platform`` function, listed in :data:`PLATFORMS` and imported only
when chosen. Adding one is a folder and a line here; ``WRAPUP_PLATFORM`` chooses. A dialect's own
variables are declared in :mod:`streams.variables` and read in its ``build`` from
``settings.platform_env`` (one-line :class:`~streams.config.ConfigError` when bad).

The seam's own modules (:mod:`.base`, :mod:`.statuses`) import nothing from
:mod:`streams.delivery`; dialects may use its auth building blocks.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from streams.config import ConfigError, Settings
from streams.platforms.base import (
    Answer,
    ApiAuth,
    ApiRequest,
    ApiSide,
    Conflict,
    Decoded,
    EventsSide,
    Leg,
    Platform,
    RawValue,
    Verdict,
    WrapupView,
    reads_before_write,
)

__all__ = [
    "PLATFORMS", "Answer", "ApiAuth", "ApiRequest", "ApiSide", "Conflict", "Decoded",
    "EventsSide", "Leg", "Platform", "RawValue", "Verdict", "WrapupView", "load",
    "reads_before_write",
]

PLATFORMS: dict[str, str] = {  # name -> the package whose build(settings) makes it
    "generic": "streams.platforms.generic",
    "genesys": "streams.platforms.genesys",
    "twilio": "streams.platforms.twilio",
    "cxone": "streams.platforms.cxone",
    "connect": "streams.platforms.connect",
}
DEFAULT = "generic"


def load(settings: Settings, name: str | None = None) -> Platform:
    """The platform called ``name`` (default: ``WRAPUP_PLATFORM``), configured from
    ``settings``; :class:`~streams.config.ConfigError` for an unknown name or a bad
    platform setting."""
    name = settings.platform if name is None else name
    try:
        module = PLATFORMS[name]
    except KeyError:
        known = ", ".join(sorted(PLATFORMS))
        raise ConfigError(f"WRAPUP_PLATFORM: unknown platform {name!r} (known: {known})"
                          ) from None
    build = cast(Callable[[Settings], Platform], importlib.import_module(module).build)
    return build(settings)
