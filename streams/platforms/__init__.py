"""Platform dialects behind one seam (:mod:`.base`); one folder per platform.

:func:`load` builds a platform by name; each dialect is a package with a
``build(settings) -> Platform`` function, listed in :data:`PLATFORMS` and imported only
when chosen. Adding one is a folder and a line here (and, once there is more than one, a
``WRAPUP_PLATFORM`` setting passed as ``name``).

The seam's own modules (:mod:`.base`, :mod:`.statuses`) import nothing from
:mod:`streams.delivery`; dialects may use its auth building blocks.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from streams.config import Settings
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
)

__all__ = [
    "PLATFORMS", "Answer", "ApiAuth", "ApiRequest", "ApiSide", "Conflict", "Decoded",
    "EventsSide", "Leg", "Platform", "RawValue", "Verdict", "WrapupView", "load",
]

PLATFORMS: dict[str, str] = {  # name -> the package whose build(settings) makes it
    "generic": "streams.platforms.generic",
}
DEFAULT = "generic"


def load(settings: Settings, name: str = DEFAULT) -> Platform:
    """The platform called ``name``, configured from ``settings``."""
    try:
        module = PLATFORMS[name]
    except KeyError:
        known = ", ".join(sorted(PLATFORMS))
        raise ValueError(f"unknown platform {name!r} (known: {known})") from None
    build = cast(Callable[[Settings], Platform], importlib.import_module(module).build)
    return build(settings)
