"""Choosing a platform by name, and the seam's request helpers."""

from __future__ import annotations

from urllib.parse import parse_qs

import orjson
import pytest

from streams import platforms
from streams.config import Settings
from streams.platforms import ApiRequest
from streams.platforms.generic import GenericApi, GenericEvents

POLICY = '{"rules": [{"queue": "q", "code": {"id": "c", "label": "l"}}]}'


# The settings a platform cannot be built without (a platform not listed needs none).
REQUIRED: dict[str, dict[str, str]] = {
    "genesys": {"WRAPUP_GENESYS_REGION": "mypurecloud.com", "WRAPUP_OAUTH_CLIENT_ID": "i",
                "WRAPUP_OAUTH_CLIENT_SECRET": "s"},
    "twilio": {"WRAPUP_TWILIO_WORKSPACE_SID": "WS" + "0" * 32,
               "WRAPUP_TWILIO_API_KEY_SID": "SK" + "0" * 32,
               "WRAPUP_TWILIO_API_KEY_SECRET": "secret"},
    "cxone": {"WRAPUP_POLICY_JSON":
              '{"rules": [{"queue": "q", "code": {"id": "1", "label": "l"}}]}',
              "WRAPUP_CXONE_CLIENT_ID": "c", "WRAPUP_CXONE_CLIENT_SECRET": "s",
              "WRAPUP_CXONE_ACCESS_KEY_ID": "k", "WRAPUP_CXONE_ACCESS_KEY_SECRET": "ks"},
    "connect": {"WRAPUP_CONNECT_INSTANCE_ID": "12345678-1234-1234-1234-123456789012",
                "WRAPUP_CONNECT_REGION": "us-east-1"},
}


def settings(**env: str) -> Settings:
    return Settings.from_env({"WRAPUP_POLICY_JSON": POLICY, **env})


def test_the_default_platform_is_the_generic_dialect() -> None:
    platform = platforms.load(settings())
    assert platform.name == "generic"
    assert isinstance(platform.events, GenericEvents) and isinstance(platform.api, GenericApi)
    assert platforms.load(settings(), "generic").name == "generic"


def test_an_unknown_platform_names_the_known_ones() -> None:
    known = ", ".join(sorted(platforms.PLATFORMS))
    with pytest.raises(ValueError, match=rf"unknown platform 'avaya' \(known: {known}\)"):
        platforms.load(settings(), "avaya")


def test_every_registered_platform_builds() -> None:
    for name in platforms.PLATFORMS:
        assert platforms.load(settings(**REQUIRED.get(name, {})), name).name == name


def test_json_and_form_requests() -> None:
    body = ApiRequest.json("wrapup", "POST", "/p", {"code": "a&b"})
    assert body.content is not None and orjson.loads(body.content) == {"code": "a&b"}
    assert body.headers == (("Content-Type", "application/json"),)
    form = ApiRequest.form("wrapup", "POST", "/t", {"AssignmentStatus": "completed",
                                                    "Reason": "a&b=c d"})
    assert form.content is not None
    assert parse_qs(form.content.decode()) == {"AssignmentStatus": ["completed"],
                                               "Reason": ["a&b=c d"]}
    assert form.headers == (("Content-Type", "application/x-www-form-urlencoded"),)
