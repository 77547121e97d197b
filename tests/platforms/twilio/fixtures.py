"""Shared helpers for the twilio dialect's tests: fixture files and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from streams.config import Settings

FIXTURES = Path(__file__).with_name("fixtures")
POLICY = '{"rules": [{"queue": "q", "code": {"id": "c", "label": "l"}}]}'
WORKSPACE = "WS" + "0123456789abcdef" * 2
ACCOUNT = "AC" + "fedcba9876543210" * 2
API_KEY = "SK" + "9a" * 16
TASK = "WT" + "1f2e3d4c5b6a7980" * 2
SECRET = "twilio-SECRET-value"


def fixture(name: str) -> Any:
    """A fixture's document, without its ``_source``."""
    doc = orjson.loads((FIXTURES / name).read_bytes())
    if isinstance(doc, dict):
        doc.pop("_source", None)
    return doc


def fixture_bytes(name: str) -> bytes:
    """A fixture as a record value (its ``body`` / ``events`` when it wraps one)."""
    doc = fixture(name)
    if isinstance(doc, dict) and "body" in doc:
        return str(doc["body"]).encode()
    if isinstance(doc, dict) and "events" in doc:
        return orjson.dumps(doc["events"])
    return orjson.dumps(doc)


def env(**extra: str) -> dict[str, str]:
    """A working twilio environment (API key credentials), plus ``extra``."""
    base = {"WRAPUP_POLICY_JSON": POLICY, "WRAPUP_PLATFORM": "twilio",
            "WRAPUP_TWILIO_WORKSPACE_SID": WORKSPACE, "WRAPUP_TWILIO_API_KEY_SID": API_KEY,
            "WRAPUP_TWILIO_API_KEY_SECRET": SECRET}
    base.update(extra)
    return {k: v for k, v in base.items() if v != ""}


def settings(**extra: str) -> Settings:
    return Settings.from_env(env(**extra))
