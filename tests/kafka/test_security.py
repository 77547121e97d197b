"""Kafka security settings: validation, the Java properties file, and real TLS/SASL
connections to the session's secured broker (SASL_SSL with SCRAM and PLAIN, mutual TLS)."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from streams.config import ConfigError, Settings
from streams.dev.kafka.tls import make_tls_files
from streams.kafka.admin import Admin, TopicSpec, ensure_topics_sync
from streams.kafka.errors import KafkaAccessError
from streams.kafka.reader import TopicReader
from streams.kafka.security import KafkaSecurity, command_config, render_properties
from tests.conftest import SecuredKafka

POLICY = '{"rules": [{"queue": "q", "code": {"id": "c", "label": "C"}}]}'


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"WRAPUP_POLICY_JSON": POLICY,
                              "WRAPUP_DATA_DIR": str(tmp_path), **env})


def config_error(tmp_path: Path, **env: str) -> str:
    with pytest.raises(ConfigError) as info:
        settings(tmp_path, **env)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_plaintext_is_the_default_and_needs_nothing(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert s.kafka_security == KafkaSecurity()
    assert s.kafka_security.client_options() == {"security_protocol": "PLAINTEXT"}
    assert s.kafka_security.faust_options() == {}


def test_sasl_ssl_with_secrets_from_files(tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path / "tls")
    (tmp_path / "user").write_text("alice\n")
    (tmp_path / "password").write_text("s3cr=t:\"x\\y\n")
    s = settings(tmp_path, WRAPUP_KAFKA_SECURITY_PROTOCOL="sasl_ssl",
                 WRAPUP_KAFKA_SASL_MECHANISM="scram-sha-256",
                 WRAPUP_KAFKA_SASL_USERNAME_FILE=str(tmp_path / "user"),
                 WRAPUP_KAFKA_SASL_PASSWORD_FILE=str(tmp_path / "password"),
                 WRAPUP_KAFKA_SSL_CA_FILE=str(tls.ca))
    sec = s.kafka_security
    assert (sec.protocol, sec.mechanism, sec.username) == ("SASL_SSL", "SCRAM-SHA-256", "alice")
    assert sec.password == 's3cr=t:"x\\y'
    assert sec.check_hostname
    assert 's3cr' not in repr(s) and "s3cr" not in repr(sec)
    context = sec.client_options()["ssl_context"]
    assert context.check_hostname and context.verify_mode.name == "CERT_REQUIRED"
    credentials = sec.faust_options()["broker_credentials"]
    assert credentials.protocol.value == "SASL_SSL" and "s3cr" not in repr(credentials)
    jaas = sec.java_properties()["sasl.jaas.config"]
    assert jaas == ('org.apache.kafka.common.security.scram.ScramLoginModule required '
                    'username="alice" password="s3cr=t:\\"x\\\\y";')


@pytest.mark.parametrize(("env", "expected"), [
    ({"WRAPUP_KAFKA_SECURITY_PROTOCOL": "TLS"},
     "WRAPUP_KAFKA_SECURITY_PROTOCOL: 'TLS' is not one of PLAINTEXT, SSL, SASL_PLAINTEXT"),
    ({"WRAPUP_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
     "WRAPUP_KAFKA_SASL_MECHANISM: required but not set"),
    ({"WRAPUP_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "WRAPUP_KAFKA_SASL_MECHANISM": "GSSAPI"},
     "WRAPUP_KAFKA_SASL_MECHANISM: 'GSSAPI' is not one of PLAIN, SCRAM-SHA-256"),
    ({"WRAPUP_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "WRAPUP_KAFKA_SASL_MECHANISM": "PLAIN",
      "WRAPUP_KAFKA_SASL_USERNAME": "u"},
     "WRAPUP_KAFKA_SASL_PASSWORD: required with SASL_SSL"),
    ({"WRAPUP_KAFKA_SASL_PASSWORD": "hunter2-secret"},
     "WRAPUP_KAFKA_SASL_PASSWORD: set but WRAPUP_KAFKA_SECURITY_PROTOCOL is PLAINTEXT"),
    ({"WRAPUP_KAFKA_SECURITY_PROTOCOL": "SSL", "WRAPUP_KAFKA_SSL_CA_FILE": "/nonexistent.pem"},
     "WRAPUP_KAFKA_SSL_CA_FILE: cannot read '/nonexistent.pem'"),
    ({"WRAPUP_KAFKA_SECURITY_PROTOCOL": "SSL", "WRAPUP_KAFKA_SSL_CHECK_HOSTNAME": "maybe"},
     "WRAPUP_KAFKA_SSL_CHECK_HOSTNAME: 'maybe' is not a boolean"),
    ({"WRAPUP_KAFKA_SASL_PASSWORD": "hunter2-secret",
      "WRAPUP_KAFKA_SASL_PASSWORD_FILE": "/x"},
     "WRAPUP_KAFKA_SASL_PASSWORD: set it or WRAPUP_KAFKA_SASL_PASSWORD_FILE, not both"),
    ({"WRAPUP_OAUTH_CLIENT_SECRET_FILE": "/nonexistent"},
     "WRAPUP_OAUTH_CLIENT_SECRET_FILE: cannot read '/nonexistent'"),
    ({"WRAPUP_API_CA_FILE": "/nonexistent.pem"}, "WRAPUP_API_CA_FILE: cannot read"),
    ({"HTTPS_PROXY": "socks5://proxy:1080"},
     "HTTPS_PROXY: only http:// and https:// proxies are supported"),
])
def test_bad_settings_give_one_line_naming_the_variable_and_no_secret(
        tmp_path: Path, env: dict[str, str], expected: str) -> None:
    message = config_error(tmp_path, **env)
    assert message.startswith(expected), message
    assert "hunter2" not in message


def test_wrong_key_password_and_a_non_ca_file_are_refused_at_start(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    message = config_error(tmp_path, WRAPUP_KAFKA_SECURITY_PROTOCOL="SSL",
                           WRAPUP_KAFKA_SSL_CA_FILE=str(junk))
    assert message.startswith("WRAPUP_KAFKA_SSL_CA_FILE: unusable for TLS"), message
    message = config_error(tmp_path, WRAPUP_API_CA_FILE=str(junk))
    assert message.startswith("WRAPUP_API_CA_FILE:"), message


def test_the_command_config_file_is_private_escaped_and_removed() -> None:
    sec = KafkaSecurity("SASL_SSL", "PLAIN", "u", "p=w:#!\\x", check_hostname=False)
    with command_config(sec) as path:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
        text = path.read_text()
    assert not path.exists() and not path.parent.exists()
    assert text == render_properties(sec.java_properties())
    assert "ssl.endpoint.identification.algorithm=\n" in text
    assert 'password\\="p\\=w\\:\\#\\!\\\\\\\\x";' in text


# ---- a real secured broker


def _roundtrip(servers: str, security: KafkaSecurity, topic: str) -> list[bytes]:
    async def run() -> list[bytes]:
        producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all",
                                    **security.client_options())
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"hello", key=b"k")
        finally:
            await producer.stop()
        reader = TopicReader(servers, security=security, timeout=10)
        await reader.start()
        try:
            got: list[bytes] = []
            spans = await reader.spans(topic, [0], None, None, None)
            await reader.read(topic, spans, lambda _p, rs: got.extend(r.value for r in rs))
            return got
        finally:
            await reader.stop()
    return asyncio.run(run())


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])
def test_admin_producer_and_reader_over_sasl_ssl(secured_kafka: SecuredKafka,
                                                 mechanism: str) -> None:
    k = secured_kafka
    sec = KafkaSecurity("SASL_SSL", mechanism, k.user, k.password, str(k.tls.ca))
    topic = f"secured-{mechanism.lower()}"
    assert ensure_topics_sync(k.sasl_ssl, [TopicSpec(topic)], security=sec) == {topic: True}
    assert _roundtrip(k.sasl_ssl, sec, topic) == [b"hello"]


def test_sasl_plaintext(secured_kafka: SecuredKafka) -> None:
    k = secured_kafka
    sec = KafkaSecurity("SASL_PLAINTEXT", "SCRAM-SHA-256", k.user, k.password)
    ensure_topics_sync(k.sasl_plaintext, [TopicSpec("secured-sasl-plaintext")], security=sec)
    assert _roundtrip(k.sasl_plaintext, sec, "secured-sasl-plaintext") == [b"hello"]


def test_mutual_tls(secured_kafka: SecuredKafka, tmp_path: Path) -> None:
    k = secured_kafka
    sec = KafkaSecurity("SSL", ca_file=str(k.tls.ca), cert_file=str(k.tls.client_cert),
                        key_file=str(k.tls.client_key))
    ensure_topics_sync(k.ssl, [TopicSpec("secured-mtls")], security=sec)
    assert _roundtrip(k.ssl, sec, "secured-mtls") == [b"hello"]


def _start_error(servers: str, security: KafkaSecurity) -> tuple[str, float]:
    async def run() -> None:
        async with Admin(servers, timeout=20, security=security):
            pass
    began = time.monotonic()
    with pytest.raises(KafkaAccessError) as info:
        asyncio.run(run())
    return str(info.value), time.monotonic() - began


def test_wrong_password_unknown_ca_plaintext_and_no_client_cert_fail_fast_in_one_line(
        secured_kafka: SecuredKafka, tmp_path: Path) -> None:
    k = secured_kafka
    stranger = make_tls_files(tmp_path / "stranger")
    cases = {
        "SASL authentication failed": (k.sasl_ssl, KafkaSecurity(
            "SASL_SSL", "SCRAM-SHA-512", k.user, "wrong-password-123", str(k.tls.ca))),
        "TLS: the broker's certificate is not trusted": (k.sasl_ssl, KafkaSecurity(
            "SASL_SSL", "SCRAM-SHA-512", k.user, k.password, str(stranger.ca))),
        "the broker closed the connection during the handshake": (k.sasl_ssl,
                                                                  KafkaSecurity()),
        "the broker closed the connection": (k.ssl, KafkaSecurity("SSL", ca_file=str(k.tls.ca))),
    }
    for expected, (servers, security) in cases.items():
        message, seconds = _start_error(servers, security)
        assert message.startswith(f"cannot reach Kafka at {servers}: {expected}"), message
        assert "\n" not in message and seconds < 10, (message, seconds)
        assert k.password not in message and "wrong-password-123" not in message


def test_help_lists_the_security_variables_and_never_a_value(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from streams.cli import main

    monkeypatch.setenv("WRAPUP_KAFKA_SASL_PASSWORD", "in-the-environment-secret")
    result = CliRunner().invoke(main, ["worker", "--help"])
    assert result.exit_code == 0
    for name in ("WRAPUP_KAFKA_SECURITY_PROTOCOL", "WRAPUP_KAFKA_SASL_PASSWORD_FILE",
                 "WRAPUP_KAFKA_SSL_CA_FILE", "WRAPUP_API_CA_FILE"):
        assert name in result.output
    assert "in-the-environment-secret" not in result.output
