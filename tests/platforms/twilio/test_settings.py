"""The ``WRAPUP_TWILIO_*`` settings: what starts, and one-line errors for what does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams import platforms
from streams.config import ConfigError
from streams.platforms.twilio import TASKROUTER, TaskRouterApi
from tests.platforms.twilio.fixtures import ACCOUNT, API_KEY, SECRET, WORKSPACE, settings


def twilio(**env: str) -> TaskRouterApi:
    api = platforms.load(settings(**env)).api
    assert isinstance(api, TaskRouterApi)
    return api


def test_an_api_key_is_the_basic_user() -> None:
    read = twilio().settings
    assert (read.workspace_sid, read.username.value, read.password.value) == (
        WORKSPACE, API_KEY, SECRET)
    assert (read.queue_field, read.campaign_path, read.base) == ("sid", ("campaign",),
                                                                 TASKROUTER)
    assert not twilio().auth(None, clock=lambda: 0.0).refreshable  # type: ignore[arg-type]


def test_the_account_sid_and_auth_token_instead() -> None:
    read = twilio(WRAPUP_TWILIO_API_KEY_SID="", WRAPUP_TWILIO_API_KEY_SECRET="",
                  WRAPUP_TWILIO_ACCOUNT_SID=ACCOUNT,
                  WRAPUP_TWILIO_AUTH_TOKEN="TOKEN-VALUE").settings
    assert (read.username.value, read.password.value) == (ACCOUNT, "TOKEN-VALUE")


def test_secrets_from_files_make_a_refreshable_auth(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    api = twilio(WRAPUP_TWILIO_API_KEY_SECRET="",
                 WRAPUP_TWILIO_API_KEY_SECRET_FILE=str(secret))
    assert api.settings.password.value == "from-file"
    assert api.settings.password.path == str(secret)
    assert api.auth(None, clock=lambda: 0.0).refreshable  # type: ignore[arg-type]


@pytest.mark.parametrize(("env", "message"), [
    ({"WRAPUP_TWILIO_WORKSPACE_SID": ""},
     "WRAPUP_TWILIO_WORKSPACE_SID: required with WRAPUP_PLATFORM=twilio"),
    ({"WRAPUP_TWILIO_WORKSPACE_SID": "WS123"},
     "WRAPUP_TWILIO_WORKSPACE_SID: 'WS123' is not a workspace SID (WS and 32 hex digits)"),
    ({"WRAPUP_TWILIO_WORKSPACE_SID": "AC" + "0" * 32},
     "WRAPUP_TWILIO_WORKSPACE_SID: 'AC000"),
    ({"WRAPUP_TWILIO_API_KEY_SID": "", "WRAPUP_TWILIO_API_KEY_SECRET": ""},
     "WRAPUP_TWILIO_API_KEY_SID: required with WRAPUP_PLATFORM=twilio"),
    ({"WRAPUP_TWILIO_API_KEY_SID": "SKnothex"},
     "WRAPUP_TWILIO_API_KEY_SID: 'SKnothex' is not an API key SID (SK and 32 hex digits)"),
    ({"WRAPUP_TWILIO_API_KEY_SECRET": ""},
     "WRAPUP_TWILIO_API_KEY_SECRET: required with WRAPUP_TWILIO_API_KEY_SID"),
    ({"WRAPUP_TWILIO_API_KEY_SID": ""},
     "WRAPUP_TWILIO_API_KEY_SID: required with WRAPUP_TWILIO_API_KEY_SECRET"),
    ({"WRAPUP_TWILIO_AUTH_TOKEN": "TOKEN-VALUE"},
     "WRAPUP_TWILIO_AUTH_TOKEN: set an API key or the auth token, not both"),
    ({"WRAPUP_TWILIO_API_KEY_SID": "", "WRAPUP_TWILIO_API_KEY_SECRET": "",
      "WRAPUP_TWILIO_AUTH_TOKEN": "TOKEN-VALUE"},
     "WRAPUP_TWILIO_ACCOUNT_SID: required with WRAPUP_TWILIO_AUTH_TOKEN"),
    ({"WRAPUP_TWILIO_API_KEY_SID": "", "WRAPUP_TWILIO_API_KEY_SECRET": "",
      "WRAPUP_TWILIO_AUTH_TOKEN": "TOKEN-VALUE", "WRAPUP_TWILIO_ACCOUNT_SID": "AC1"},
     "WRAPUP_TWILIO_ACCOUNT_SID: 'AC1' is not an account SID"),
    ({"WRAPUP_TWILIO_API_KEY_SECRET_FILE": "/nonexistent/secret"},
     "WRAPUP_TWILIO_API_KEY_SECRET: set it or WRAPUP_TWILIO_API_KEY_SECRET_FILE, not both"),
    ({"WRAPUP_TWILIO_API_KEY_SECRET": "", "WRAPUP_TWILIO_API_KEY_SECRET_FILE": "/nonexistent/s"},
     "WRAPUP_TWILIO_API_KEY_SECRET_FILE: cannot read '/nonexistent/s'"),
    ({"WRAPUP_TWILIO_QUEUE_FIELD": "friendly"},
     "WRAPUP_TWILIO_QUEUE_FIELD: 'friendly' is not one of sid, name"),
    ({"WRAPUP_TWILIO_CAMPAIGN_ATTRIBUTE": "a..b"},
     "WRAPUP_TWILIO_CAMPAIGN_ATTRIBUTE: 'a..b' is not a dotted attribute path"),
])
def test_bad_settings_stop_with_one_line_naming_the_variable(env: dict[str, str],
                                                             message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        platforms.load(settings(**env))
    text = str(raised.value)
    assert text.startswith(message), text
    assert "\n" not in text and SECRET not in text and "TOKEN-VALUE" not in text


def test_an_api_key_sid_from_a_file_is_not_quoted_when_bad(tmp_path: Path) -> None:
    sid = tmp_path / "sid"
    sid.write_text("SK-not-a-sid\n")
    with pytest.raises(ConfigError) as raised:
        platforms.load(settings(WRAPUP_TWILIO_API_KEY_SID="",
                                WRAPUP_TWILIO_API_KEY_SID_FILE=str(sid)))
    assert str(raised.value) == ("WRAPUP_TWILIO_API_KEY_SID: is not an API key SID (SK and 32 "
                                 "hex digits)")
