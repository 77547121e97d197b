"""The CXone platform from its settings: every bad one stops the start with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams import platforms
from streams.config import ConfigError, Settings
from streams.platforms.base import reads_before_write
from streams.platforms.cxone import CxoneApi, CxoneEvents, build
from tests.platforms.cxone.fixtures import ENV, SECRETS, settings


def test_wrapup_platform_cxone_builds_the_dialect() -> None:
    platform = platforms.load(settings())
    assert platform.name == "cxone" and reads_before_write(platform.api)
    assert isinstance(platform.events, CxoneEvents) and isinstance(platform.api, CxoneApi)
    key = platform.api.key
    assert (key.issuer, key.client_id, key.access_key_id, key.tenant_id) == (
        "https://cxone.niceincontact.com", "client-1", "AK-1", None)


def test_secrets_may_come_from_files_and_never_show_in_a_repr(tmp_path: Path) -> None:
    (tmp_path / "client").write_text("from-file-client\n")
    (tmp_path / "key").write_text("from-file-key\n")
    env = {k: v for k, v in ENV.items() if "SECRET" not in k}
    env.update(WRAPUP_CXONE_CLIENT_SECRET_FILE=str(tmp_path / "client"),
               WRAPUP_CXONE_ACCESS_KEY_SECRET_FILE=str(tmp_path / "key"),
               WRAPUP_CXONE_TENANT_ID="11e85da0-f32c-7e10-898c-0242ac110003",
               WRAPUP_CXONE_ISSUER="https://cxone-gov.niceincontact.com/")
    api = build(Settings.from_env(env)).api
    assert isinstance(api, CxoneApi)
    assert (api.key.client_secret, api.key.access_key_secret) == (
        "from-file-client", "from-file-key")
    assert api.key.issuer == "https://cxone-gov.niceincontact.com"
    assert api.key.tenant_id == "11e85da0-f32c-7e10-898c-0242ac110003"
    shown = repr(api) + repr(api.key)
    assert "from-file" not in shown and not any(s in shown for s in SECRETS)


@pytest.mark.parametrize(("change", "message"), [
    ({"WRAPUP_CXONE_CLIENT_ID": ""}, "WRAPUP_CXONE_CLIENT_ID: required but not set"),
    ({"WRAPUP_CXONE_ACCESS_KEY_ID": ""}, "WRAPUP_CXONE_ACCESS_KEY_ID: required but not set"),
    ({"WRAPUP_CXONE_CLIENT_SECRET": ""},
     r"WRAPUP_CXONE_CLIENT_SECRET: required with WRAPUP_PLATFORM=cxone "
     r"\(or WRAPUP_CXONE_CLIENT_SECRET_FILE\)"),
    ({"WRAPUP_CXONE_ACCESS_KEY_SECRET": ""}, "WRAPUP_CXONE_ACCESS_KEY_SECRET: required"),
    ({"WRAPUP_CXONE_ACCESS_KEY_SECRET": "two\nlines"},
     "WRAPUP_CXONE_ACCESS_KEY_SECRET: must be one line"),
    ({"WRAPUP_CXONE_ISSUER": "ftp://x"}, "WRAPUP_CXONE_ISSUER: 'ftp://x' is not an http"),
    ({"WRAPUP_CXONE_ISSUER": "https://x/auth"}, "WRAPUP_CXONE_ISSUER: .* without a path"),
    ({"WRAPUP_CXONE_TENANT_ID": "a b"}, "WRAPUP_CXONE_TENANT_ID: 'a b' is not a tenant ID"),
    ({"WRAPUP_POLICY_JSON": '{"rules": [{"queue": "q", "code": {"id": "wc-1", "label": "l"}}]}'},
     r"WRAPUP_POLICY_JSON: rules\[0\]: wrap-up code 'wc-1' is not a CXone disposition ID"),
    ({"WRAPUP_POLICY_JSON": '{"rules": [{"queue": "q", "code": {"id": "-3", "label": "l"}}]}'},
     r"WRAPUP_POLICY_JSON: rules\[0\]: wrap-up code '-3'"),
])
def test_bad_settings_are_one_line_naming_the_variable(change: dict[str, str],
                                                       message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        platforms.load(settings(**change))
    text = str(caught.value)
    assert "\n" not in text and not any(s in text for s in SECRETS)


def test_the_policy_file_is_named_when_it_holds_the_bad_code(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text('{"rules": [{"queue": "q", "code": {"id": "x", "label": "l"}}]}')
    env = {k: v for k, v in ENV.items() if k != "WRAPUP_POLICY_JSON"}
    with pytest.raises(ConfigError, match=r"^WRAPUP_POLICY_FILE: rules\[0\]"):
        platforms.load(Settings.from_env({**env, "WRAPUP_POLICY_FILE": str(policy)}))
