"""Settings from WRAPUP_* variables: defaults, one-line errors naming the variable, secrets."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.config import VARIABLES, ConfigError, Settings, describe_variables
from streams.policy import Policy, WrapupCode

POLICY_DOC = {"rules": [{"campaign": "c1", "code": {"id": "wc-1", "label": "One"}}]}
POLICY_JSON = orjson.dumps(POLICY_DOC).decode()


def settings_from(**env: str) -> Settings:
    return Settings.from_env({"WRAPUP_POLICY_JSON": POLICY_JSON, **env})


def config_error(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, message
    return message


def test_defaults_with_only_a_policy() -> None:
    s = Settings.from_env({"WRAPUP_POLICY_JSON": POLICY_JSON})
    assert s.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert s.app_id == "wrapup-bridge"
    assert s.events_topic == "platform.interaction-events"
    assert s.events_keyed is True
    assert s.outcomes_topic == "wrapup-bridge.outcomes"
    assert s.store == "memory"
    assert s.data_dir == Path("var/wrapup-data")
    assert s.policy.resolve("c1", None) == WrapupCode("wc-1", "One")
    assert s.api_base_url == "http://127.0.0.1:8080"
    assert "{interactionId}" in s.api_wrapup_path
    assert s.api_token is None and not s.uses_oauth
    assert (s.api_timeout, s.api_connect_timeout) == (5.0, 2.0)
    assert (s.api_max_connections, s.api_max_attempts, s.max_in_flight) == (20, 8, 64)
    assert s.api_rate_limit == 5.0
    assert (s.default_acw, s.pending_ttl, s.state_retention) == (120.0, 1800.0, 21600.0)
    assert s.tick_interval == 5.0
    assert (s.web_host, s.web_port, s.log_level) == ("127.0.0.1", 6066, "INFO")


def test_every_declared_default_is_valid() -> None:
    env = {v.name: v.default for v in VARIABLES if v.default is not None}
    env["WRAPUP_POLICY_JSON"] = POLICY_JSON
    assert Settings.from_env(env) == Settings.from_env({"WRAPUP_POLICY_JSON": POLICY_JSON})


def test_values_are_parsed_and_blank_means_default() -> None:
    s = settings_from(
        WRAPUP_EVENTS_KEYED=" off ",
        WRAPUP_STORE="RocksDB",
        WRAPUP_LOG_LEVEL="debug",
        WRAPUP_API_BASE_URL="https://api.example.test/",
        WRAPUP_PENDING_TTL_SECONDS="90.5",
        WRAPUP_WEB_PORT="  ",
    )
    assert s.events_keyed is False
    assert s.store == "rocksdb"
    assert s.log_level == "DEBUG"
    assert s.api_base_url == "https://api.example.test"
    assert s.pending_ttl == 90.5
    assert s.web_port == 6066


def test_policy_from_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(POLICY_JSON)
    s = Settings.from_env({"WRAPUP_POLICY_FILE": str(path)})
    assert s.policy == Policy.from_json(POLICY_JSON)


def test_kafka_bootstrap_servers_fallback() -> None:
    env = {"WRAPUP_POLICY_JSON": POLICY_JSON, "KAFKA_BOOTSTRAP_SERVERS": "k1:9092,k2:9093"}
    assert Settings.from_env(env).kafka_bootstrap_servers == "k1:9092,k2:9093"
    env["WRAPUP_KAFKA_BOOTSTRAP_SERVERS"] = "own:1"
    assert Settings.from_env(env).kafka_bootstrap_servers == "own:1"


def test_oauth_and_static_token() -> None:
    oauth = settings_from(WRAPUP_OAUTH_CLIENT_ID="id", WRAPUP_OAUTH_CLIENT_SECRET="s3cr3t-x")
    assert oauth.uses_oauth
    token = settings_from(WRAPUP_API_TOKEN="tok-abc")
    assert token.api_token == "tok-abc" and not token.uses_oauth


def test_secrets_are_not_in_repr() -> None:
    s = settings_from(
        WRAPUP_OAUTH_CLIENT_ID="client-id-1",
        WRAPUP_OAUTH_CLIENT_SECRET="very-secret-value",
    )
    t = settings_from(WRAPUP_API_TOKEN="static-token-value")
    assert "very-secret-value" not in repr(s) and "very-secret-value" not in str(s)
    assert "static-token-value" not in repr(t)
    assert "client-id-1" in repr(s)  # not a secret: proves the repr has content


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"WRAPUP_API_TIMEOUT_SECONDS": "fast"}, "WRAPUP_API_TIMEOUT_SECONDS"),
        ({"WRAPUP_API_TIMEOUT_SECONDS": "0"}, "WRAPUP_API_TIMEOUT_SECONDS"),
        ({"WRAPUP_API_TIMEOUT_SECONDS": "nan"}, "WRAPUP_API_TIMEOUT_SECONDS"),
        ({"WRAPUP_API_TIMEOUT_SECONDS": "inf"}, "WRAPUP_API_TIMEOUT_SECONDS"),
        ({"WRAPUP_API_CONNECT_TIMEOUT_SECONDS": "61"}, "WRAPUP_API_CONNECT_TIMEOUT_SECONDS"),
        ({"WRAPUP_API_MAX_CONNECTIONS": "2.5"}, "WRAPUP_API_MAX_CONNECTIONS"),
        ({"WRAPUP_API_MAX_CONNECTIONS": "0"}, "WRAPUP_API_MAX_CONNECTIONS"),
        ({"WRAPUP_API_RATE_LIMIT": "-1"}, "WRAPUP_API_RATE_LIMIT"),
        ({"WRAPUP_API_MAX_ATTEMPTS": "101"}, "WRAPUP_API_MAX_ATTEMPTS"),
        ({"WRAPUP_MAX_IN_FLIGHT": "many"}, "WRAPUP_MAX_IN_FLIGHT"),
        ({"WRAPUP_DEFAULT_ACW_SECONDS": "0.5"}, "WRAPUP_DEFAULT_ACW_SECONDS"),
        ({"WRAPUP_PENDING_TTL_SECONDS": "1e9"}, "WRAPUP_PENDING_TTL_SECONDS"),
        ({"WRAPUP_STATE_RETENTION_SECONDS": "x"}, "WRAPUP_STATE_RETENTION_SECONDS"),
        ({"WRAPUP_TICK_INTERVAL_SECONDS": "0.001"}, "WRAPUP_TICK_INTERVAL_SECONDS"),
        ({"WRAPUP_WEB_PORT": "65536"}, "WRAPUP_WEB_PORT"),
        ({"WRAPUP_WEB_PORT": "http"}, "WRAPUP_WEB_PORT"),
        ({"WRAPUP_EVENTS_KEYED": "maybe"}, "WRAPUP_EVENTS_KEYED"),
        ({"WRAPUP_EVENTS_KEYED": "2"}, "WRAPUP_EVENTS_KEYED"),
        ({"WRAPUP_STORE": "redis"}, "WRAPUP_STORE"),
        ({"WRAPUP_LOG_LEVEL": "LOUD"}, "WRAPUP_LOG_LEVEL"),
        ({"WRAPUP_APP_ID": "my app"}, "WRAPUP_APP_ID"),
        ({"WRAPUP_EVENTS_TOPIC": "events/a"}, "WRAPUP_EVENTS_TOPIC"),
        ({"WRAPUP_OUTCOMES_TOPIC": "ergebnisse-\u00fc"}, "WRAPUP_OUTCOMES_TOPIC"),
        ({"WRAPUP_DEAD_LETTER_TOPIC": "d" * 201}, "WRAPUP_DEAD_LETTER_TOPIC"),
        ({"WRAPUP_API_BASE_URL": "ftp://host"}, "WRAPUP_API_BASE_URL"),
        ({"WRAPUP_API_BASE_URL": "127.0.0.1:8080"}, "WRAPUP_API_BASE_URL"),
        ({"WRAPUP_API_BASE_URL": "http://"}, "WRAPUP_API_BASE_URL"),
        ({"WRAPUP_API_WRAPUP_PATH": "api/{interactionId}"}, "WRAPUP_API_WRAPUP_PATH"),
        ({"WRAPUP_API_WRAPUP_PATH": "/api/wrapup"}, "WRAPUP_API_WRAPUP_PATH"),
        ({"WRAPUP_API_INTERACTION_PATH": "/api/{id}"}, "WRAPUP_API_INTERACTION_PATH"),
        ({"WRAPUP_API_BODY_TEMPLATE": '{"wrapupCode": '}, "WRAPUP_API_BODY_TEMPLATE"),
        ({"WRAPUP_API_BODY_TEMPLATE": '{"code": "fixed"}'}, "WRAPUP_API_BODY_TEMPLATE"),
        ({"WRAPUP_KAFKA_BOOTSTRAP_SERVERS": "localhost"}, "WRAPUP_KAFKA_BOOTSTRAP_SERVERS"),
        ({"WRAPUP_KAFKA_BOOTSTRAP_SERVERS": "a:1,"}, "WRAPUP_KAFKA_BOOTSTRAP_SERVERS"),
        ({"WRAPUP_KAFKA_BOOTSTRAP_SERVERS": "a:port"}, "WRAPUP_KAFKA_BOOTSTRAP_SERVERS"),
        ({"KAFKA_BOOTSTRAP_SERVERS": "no-port"}, "WRAPUP_KAFKA_BOOTSTRAP_SERVERS"),
        ({"WRAPUP_OAUTH_CLIENT_ID": "id"}, "WRAPUP_OAUTH_CLIENT_SECRET"),
        ({"WRAPUP_OAUTH_CLIENT_SECRET": "s"}, "WRAPUP_OAUTH_CLIENT_ID"),
        (
            {"WRAPUP_API_TOKEN": "t", "WRAPUP_OAUTH_CLIENT_ID": "i",
             "WRAPUP_OAUTH_CLIENT_SECRET": "s"},
            "WRAPUP_API_TOKEN",
        ),
        ({"WRAPUP_API_TIMEOUT_SECONDS": "1\nWRAPUP_X=2"}, "WRAPUP_API_TIMEOUT_SECONDS"),
    ],
)
def test_bad_values_name_the_variable_on_one_line(env: dict[str, str], variable: str) -> None:
    message = config_error({"WRAPUP_POLICY_JSON": POLICY_JSON, **env})
    assert message.startswith(f"{variable}: "), message


def test_secret_values_never_appear_in_errors() -> None:
    message = config_error(
        {"WRAPUP_POLICY_JSON": POLICY_JSON, "WRAPUP_API_TOKEN": "tok-123",
         "WRAPUP_OAUTH_CLIENT_ID": "i", "WRAPUP_OAUTH_CLIENT_SECRET": "sec-456"}
    )
    assert "tok-123" not in message and "sec-456" not in message
    message = config_error({"WRAPUP_POLICY_JSON": POLICY_JSON,
                            "WRAPUP_OAUTH_CLIENT_SECRET": "sec-789"})
    assert "sec-789" not in message


def test_missing_policy() -> None:
    assert config_error({}).startswith("WRAPUP_POLICY_FILE: required")
    assert config_error({"WRAPUP_POLICY_JSON": "  "}).startswith("WRAPUP_POLICY_FILE: required")


def test_both_policy_variables() -> None:
    message = config_error(
        {"WRAPUP_POLICY_JSON": POLICY_JSON, "WRAPUP_POLICY_FILE": "/etc/policy.json"}
    )
    assert message.startswith("WRAPUP_POLICY_JSON: ")


def test_unreadable_policy_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    message = config_error({"WRAPUP_POLICY_FILE": str(missing)})
    assert message.startswith("WRAPUP_POLICY_FILE: cannot read")
    assert str(missing) in message
    message = config_error({"WRAPUP_POLICY_FILE": str(tmp_path)})  # a directory
    assert message.startswith("WRAPUP_POLICY_FILE: cannot read")


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ('{"rules": []}', "at least one rule"),
        ('{"rules": [{"queue": "q"}]}', "rules[0].code"),
        ('{"rules": [{"queue": "q", "code": {"id": "w", "label": "L"}}, 3]}', "rules[1]"),
    ],
)
def test_malformed_policy(tmp_path: Path, document: str, fragment: str) -> None:
    message = config_error({"WRAPUP_POLICY_JSON": document})
    assert message.startswith("WRAPUP_POLICY_JSON: ") and fragment in message
    path = tmp_path / "p.json"
    path.write_text(document)
    message = config_error({"WRAPUP_POLICY_FILE": str(path)})
    assert message.startswith("WRAPUP_POLICY_FILE: ") and fragment in message


def test_policy_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(b"\xff\xfe{}")
    assert config_error({"WRAPUP_POLICY_FILE": str(path)}).startswith("WRAPUP_POLICY_FILE: ")


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^WRAPUP_WEB_PORT: "):
        settings_from(WRAPUP_WEB_PORT="0")


def test_describe_variables_lists_every_variable() -> None:
    text = describe_variables()
    for var in VARIABLES:
        assert var.name in text
        assert var.help in text
        if var.default is not None:
            assert f"(default: {var.default})" in text
    assert text.count("WRAPUP_") >= len(VARIABLES)


def test_variables_are_unique_and_prefixed() -> None:
    names = [v.name for v in VARIABLES]
    assert len(names) == len(set(names))
    assert all(name.startswith("WRAPUP_") for name in names)
    secrets = {v.name for v in VARIABLES if v.secret}
    assert secrets == {"WRAPUP_API_TOKEN", "WRAPUP_OAUTH_CLIENT_SECRET",
                       "WRAPUP_KAFKA_SASL_PASSWORD", "WRAPUP_KAFKA_SSL_KEY_PASSWORD",
                       "WRAPUP_TWILIO_API_KEY_SECRET", "WRAPUP_TWILIO_AUTH_TOKEN",
                       "WRAPUP_CXONE_CLIENT_SECRET", "WRAPUP_CXONE_ACCESS_KEY_SECRET"}
