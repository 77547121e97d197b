"""Shared fixtures: one real Kafka broker per session (lazily), unique topics per test."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from streams.dev.kafka import LocalKafka, SecureListeners, fetch_jars, kafka_from_env
from streams.dev.kafka.tls import TlsFiles, make_tls_files
from streams.kafka.admin import TopicSpec, ensure_topics_sync
from tests.helpers import async_wait_for, wait_for
from tests.worker.fixtures import RecordingPlatform, Start, worker_starter

__all__ = ["SecuredKafka", "TopicFactory", "async_wait_for", "wait_for"]


class TopicFactory(Protocol):
    """Creates a topic on the session broker and returns its name."""

    def __call__(
        self,
        partitions: int = 1,
        *,
        compact: bool = False,
        name: str | None = None,
        config: dict[str, str] | None = None,
    ) -> str: ...


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tag every test that (transitively) uses a broker with the `kafka` marker."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "kafka_bootstrap" in names or "secured_kafka" in names:
            item.add_marker(pytest.mark.kafka)


@dataclass(frozen=True)
class SecuredKafka:
    """The session's secured broker: its listeners, TLS files and one SCRAM/PLAIN user."""

    plaintext: str  # for test set-up only (topics, producing, reading back)
    sasl_ssl: str
    ssl: str  # mutual TLS: a client certificate is required
    sasl_plaintext: str
    tls: TlsFiles
    user: str
    password: str

    def env(self, **overrides: str) -> dict[str, str]:
        """WRAPUP_* variables for SASL_SSL with SCRAM-SHA-512 and the test CA."""
        return {"WRAPUP_KAFKA_BOOTSTRAP_SERVERS": self.sasl_ssl,
                "WRAPUP_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "WRAPUP_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                "WRAPUP_KAFKA_SASL_USERNAME": self.user,
                "WRAPUP_KAFKA_SASL_PASSWORD": self.password,
                "WRAPUP_KAFKA_SSL_CA_FILE": str(self.tls.ca), **overrides}


@pytest.fixture(scope="session")
def secured_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    """A second local broker (started on first use, shared by the session) with SASL_SSL
    and SASL_PLAINTEXT (SCRAM-SHA-256/512 and PLAIN) and mutual-TLS listeners, besides
    PLAINTEXT."""
    base = tmp_path_factory.mktemp("secured-kafka")
    tls = make_tls_files(base / "tls")
    user, password = "wrapup", f"pw-{uuid.uuid4().hex}"
    with LocalKafka(secure=SecureListeners(tls, {user: password})) as kafka:
        yield SecuredKafka(kafka.bootstrap_servers, kafka.sasl_ssl_servers, kafka.ssl_servers,
                           kafka.sasl_plaintext_servers, tls, user, password)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of a real broker: KAFKA_BOOTSTRAP_SERVERS, else a LocalKafka started
    on first use and stopped at the end of the session."""
    with kafka_from_env() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def kafka_jars() -> Path:
    """The cached Kafka jars (fetched once if missing), for the Java tools runner: an
    external broker (KAFKA_BOOTSTRAP_SERVERS) does not fetch them as a LocalKafka does."""
    return fetch_jars()


def _topic_prefix(node_name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", node_name).strip("-.")
    return (cleaned or "topic")[:80]


@pytest.fixture
def topic_factory(kafka_bootstrap: str, request: pytest.FixtureRequest) -> TopicFactory:
    """``topic_factory(partitions=1, *, compact=False, name=None, config=None) -> str``.

    Creates (idempotently) a topic named after the test plus a random suffix, and waits
    until all its partitions have leaders. Usable from sync and async tests.
    """
    prefix = _topic_prefix(request.node.name)

    def create(
        partitions: int = 1,
        *,
        compact: bool = False,
        name: str | None = None,
        config: dict[str, str] | None = None,
    ) -> str:
        topic = name or f"{prefix}-{uuid.uuid4().hex[:10]}"
        settings = dict(config or {})
        if compact:
            settings.setdefault("cleanup.policy", "compact")
        ensure_topics_sync(kafka_bootstrap, [TopicSpec(topic, partitions, config=settings)])
        return topic

    return create


@pytest.fixture
def platform() -> Iterator[RecordingPlatform]:
    """A recording wrap-up API on loopback (tests of the worker and replay)."""
    server = RecordingPlatform()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Start]:
    """``start_worker(env) -> WorkerProcess`` once ready; all are killed afterwards."""
    yield from worker_starter(tmp_path)
