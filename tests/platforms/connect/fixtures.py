"""Shared helpers of the Connect dialect's tests: the JSON fixtures and a settings env."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson

from streams.config import Settings
from streams.platforms import Platform, load

FIXTURES = Path(__file__).parent / "fixtures"
INSTANCE = "12345678-1234-1234-1234-123456789012"
POLICY = '{"rules": [{"queue": "q", "code": {"id": "c", "label": "l"}}]}'
ENV = {"WRAPUP_PLATFORM": "connect", "WRAPUP_POLICY_JSON": POLICY,
       "WRAPUP_CONNECT_INSTANCE_ID": INSTANCE, "WRAPUP_CONNECT_REGION": "us-west-2"}


def fixture(name: str) -> dict[str, Any]:
    doc = orjson.loads((FIXTURES / name).read_bytes())
    assert isinstance(doc, dict) and doc.get("_source"), f"{name} names no source"
    return doc


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def response(name: str) -> httpx.Response:
    """An error fixture (``_status``, ``_headers``, body) as an httpx response."""
    doc = fixture(name)
    status, headers = doc.pop("_status"), doc.pop("_headers")
    doc.pop("_source")
    return httpx.Response(status, headers=headers, content=orjson.dumps(doc))


def platform(**env: str) -> Platform:
    return load(Settings.from_env({**ENV, **env}))
