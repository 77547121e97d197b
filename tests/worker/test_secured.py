"""The real worker (and `wrapup explain` after it) over SASL_SSL (SCRAM, the password from
a file) and mutual TLS, and its one-line refusal of a wrong password, an unknown CA and a
plaintext connection to the TLS port, with nothing posted. The secrets never show in its
log or its metrics."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.dev.kafka.tls import make_tls_files
from streams.kafka.admin import TopicSpec, ensure_topics_sync
from tests.conftest import SecuredKafka
from tests.helpers import REPO, wait_for
from tests.worker.fixtures import (
    RecordingPlatform,
    WorkerProcess,
    event,
    produce,
    read_all,
    worker_env,
)


def secured_env(k: SecuredKafka, topic: str, platform: RecordingPlatform, tmp_path: Path,
                **overrides: str) -> dict[str, str]:
    password_file = tmp_path / "kafka-password"
    password_file.write_text(k.password + "\n")
    env = worker_env(k.sasl_ssl, topic, platform.base_url, tmp_path / "data",
                     **k.env(WRAPUP_KAFKA_SASL_PASSWORD_FILE=str(password_file)))
    del env["WRAPUP_KAFKA_SASL_PASSWORD"]
    env.update(overrides)
    return env


def run_pair(k: SecuredKafka, env: dict[str, str], topic: str, platform: RecordingPlatform,
             tmp_path: Path, interaction: str) -> None:
    worker = WorkerProcess(env, tmp_path / f"{interaction}.log").start()
    try:
        worker.wait_ready()
        produce(k.plaintext, topic, [(interaction.encode(), event("ended", interaction)),
                                     (interaction.encode(), event("wrapping-up", interaction))])
        wait_for(lambda: interaction in platform.posted_ids(), timeout=30,
                 message="wrap-up posted over the secured connection")
        wait_for(lambda: any(r.key == interaction.encode()
                             for r in read_all(k.plaintext, env["WRAPUP_OUTCOMES_TOPIC"])),
                 timeout=30, message="outcome published over the secured connection")
        metrics = worker.metrics()
        assert worker.metric("wrapup_pairs_completed_total") == 1
    finally:
        worker.stop()
    log = worker.log_path.read_text()
    for secret in (k.password, env.get("WRAPUP_API_TOKEN", "")):
        assert secret and secret not in log and secret not in metrics
    assert platform.posted_ids() == [interaction]


def test_the_worker_pairs_and_posts_over_sasl_ssl_scram(
        secured_kafka: SecuredKafka, platform: RecordingPlatform, tmp_path: Path) -> None:
    k = secured_kafka
    topic = "worker-sasl-ssl"
    ensure_topics_sync(k.plaintext, [TopicSpec(topic, 2)])
    env = secured_env(k, topic, platform, tmp_path)
    run_pair(k, env, topic, platform, tmp_path, "sasl-1")
    # `wrapup explain` reads the same cluster with the same settings.
    clean = {key: v for key, v in os.environ.items() if not key.startswith("WRAPUP_")}
    done = subprocess.run([*WorkerProcess.command(), "explain", "sasl-1", "--json"], cwd=REPO,
                          env={**clean, **env}, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["final"]["outcome"] == "applied"
    assert k.password not in done.stdout + done.stderr


def test_the_worker_pairs_and_posts_over_mutual_tls(
        secured_kafka: SecuredKafka, platform: RecordingPlatform, tmp_path: Path) -> None:
    k = secured_kafka
    topic = "worker-mtls"
    ensure_topics_sync(k.plaintext, [TopicSpec(topic, 1)])
    env = worker_env(k.ssl, topic, platform.base_url, tmp_path / "data",
                     WRAPUP_KAFKA_SECURITY_PROTOCOL="SSL",
                     WRAPUP_KAFKA_SSL_CA_FILE=str(k.tls.ca),
                     WRAPUP_KAFKA_SSL_CERT_FILE=str(k.tls.client_cert),
                     WRAPUP_KAFKA_SSL_KEY_FILE=str(k.tls.client_key))
    run_pair(k, env, topic, platform, tmp_path, "mtls-1")


@pytest.mark.parametrize("case", ["wrong-password", "unknown-ca", "plaintext"])
def test_a_bad_secured_connection_stops_the_worker_with_one_line_and_posts_nothing(
        secured_kafka: SecuredKafka, platform: RecordingPlatform, tmp_path: Path,
        case: str) -> None:
    k = secured_kafka
    topic = "worker-refused"
    ensure_topics_sync(k.plaintext, [TopicSpec(topic, 1)])
    produce(k.plaintext, topic, [(b"never", event("ended", "never")),
                                 (b"never", event("wrapping-up", "never"))])
    env = secured_env(k, topic, platform, tmp_path)
    if case == "wrong-password":
        (tmp_path / "kafka-password").write_text("not-the-password-42\n")
        expected = "SASL authentication failed"
    elif case == "unknown-ca":
        env["WRAPUP_KAFKA_SSL_CA_FILE"] = str(make_tls_files(tmp_path / "other").ca)
        expected = "TLS: the broker's certificate is not trusted"
    else:
        env = worker_env(k.sasl_ssl, topic, platform.base_url, tmp_path / "data")
        expected = "the broker closed the connection during the handshake"
    clean = {key: v for key, v in os.environ.items() if not key.startswith("WRAPUP_")}
    proc = subprocess.run([*WorkerProcess.command(), "worker"], cwd=REPO,
                          env={**clean, **env, "WRAPUP_KAFKA_GROUP_INSTANCE_ID": "none"},
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("wrapup: configuration error: WRAPUP_KAFKA_BOOTSTRAP_SERVERS: "
                               f"cannot reach Kafka at {k.sasl_ssl}: {expected}"), lines[0]
    for secret in (k.password, "not-the-password-42"):
        assert secret not in proc.stderr + proc.stdout
    assert platform.posted_ids() == []


def test_the_hole_reader_reads_over_sasl_ssl(secured_kafka: SecuredKafka,
                                             tmp_path: Path) -> None:
    from streams.config import Settings
    from streams.continuity import Hole
    from streams.worker.holes import HoleFiller

    k = secured_kafka
    topic = "holes-sasl-ssl"
    ensure_topics_sync(k.plaintext, [TopicSpec(topic, 1)])
    produce(k.plaintext, topic, [(f"h{i}".encode(), event("ended", f"h{i}")) for i in range(5)])
    settings = Settings.from_env(worker_env(k.sasl_ssl, topic, "http://127.0.0.1:1",
                                            tmp_path / "data", **k.env()))
    async def read() -> list[Any]:
        holes = HoleFiller(settings, settings.outcomes_topic)
        try:
            return await holes._read(topic, 0, Hole(1, 4))
        finally:
            await holes.stop()

    assert [r.offset for r in asyncio.run(read())] == [1, 2, 3]
