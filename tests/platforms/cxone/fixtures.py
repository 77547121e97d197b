"""CXone test helpers: the payload fixtures and a settings environment that builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from streams.config import Settings

FIXTURES = Path(__file__).parent / "fixtures"
POLICY = '{"rules": [{"queue": "4354", "code": {"id": "7001", "label": "Renewal - auto"}}]}'
SECRETS = ("cxone-CLIENT-secret", "cxone-ACCESS-KEY-secret")
ENV = {
    "WRAPUP_PLATFORM": "cxone",
    "WRAPUP_POLICY_JSON": POLICY,
    "WRAPUP_CXONE_CLIENT_ID": "client-1",
    "WRAPUP_CXONE_CLIENT_SECRET": SECRETS[0],
    "WRAPUP_CXONE_ACCESS_KEY_ID": "AK-1",
    "WRAPUP_CXONE_ACCESS_KEY_SECRET": SECRETS[1],
}


def raw(name: str) -> bytes:
    """A fixture file's bytes."""
    return (FIXTURES / name).read_bytes()


def doc(name: str) -> Any:
    """A fixture file's JSON document."""
    return orjson.loads(raw(name))


def settings(**env: str) -> Settings:
    """Settings for the CXone platform; ``env`` adds or overrides variables."""
    return Settings.from_env({**ENV, **env})
