"""The development broker harness: config rendering, env handling, a real broker end to end."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaTimeoutError, UnknownTopicOrPartitionError

from streams.dev.kafka import (
    LocalKafka,
    LocalKafkaError,
    external_bootstrap_servers,
    kafka_from_env,
)
from streams.dev.kafka.config import (
    find_free_port,
    random_cluster_id,
    render_log4j_config,
    render_server_properties,
)
from streams.kafka import tools
from streams.kafka.admin import TopicSpec, ensure_topics_sync, probe_broker
from tests.conftest import TopicFactory
from tests.helpers import async_wait_for, wait_for


def _parse_properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and line[0] != "#")
    return {key: value for key, value in pairs}


async def _consume(
    bootstrap: str, topic: str, count: int, timeout: float = 30.0
) -> list[tuple[int, bytes | None, bytes | None]]:
    """Read ``count`` records from the beginning of ``topic``: (partition, key, value)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    got: list[tuple[int, bytes | None, bytes | None]] = []
    try:

        async def drained() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                got.extend((r.partition, r.key, r.value) for r in records)
            return len(got) >= count

        await async_wait_for(drained, timeout=timeout, interval=0, message=f"{count} records")
    finally:
        await consumer.stop()
    return got


# --------------------------------------------------------------------------- no broker needed


def test_server_properties_have_the_dev_settings(tmp_path: Path) -> None:
    text = render_server_properties(
        host="127.0.0.1",
        port=19092,
        controller_port=19093,
        log_dirs=tmp_path / "data",
        extra={"log.retention.ms": "1000", "num.partitions": "3"},
    )
    props = _parse_properties(text)
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["auto.create.topics.enable"] == "false"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
        "min.insync.replicas",
        "default.replication.factor",
    ):
        assert props[key] == "1", key
    assert props["log.dirs"] == str(tmp_path / "data")
    # extras are added and override defaults, each key appears once
    assert props["log.retention.ms"] == "1000"
    assert props["num.partitions"] == "3"
    assert text.count("num.partitions=") == 1


def test_log4j_config_writes_to_the_given_file(tmp_path: Path) -> None:
    xml = render_log4j_config(tmp_path / "logs" / "server.log")
    assert f'fileName="{tmp_path / "logs" / "server.log"}"' in xml
    assert "Console" not in xml


def test_cluster_ids_are_kafka_uuids() -> None:
    ids = {random_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cid in ids:
        assert len(cid) == 22 and not cid.startswith("-")
        assert set(cid) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_env_bootstrap_is_used_without_starting_a_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_start(self: LocalKafka) -> LocalKafka:
        raise AssertionError("LocalKafka.start() called although KAFKA_BOOTSTRAP_SERVERS is set")

    monkeypatch.setattr(LocalKafka, "start", must_not_start)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", " 127.0.0.1:1,127.0.0.1:2 ")
    with kafka_from_env() as bootstrap:
        assert bootstrap == "127.0.0.1:1,127.0.0.1:2"

    assert external_bootstrap_servers({"KAFKA_BOOTSTRAP_SERVERS": "  "}) is None
    assert external_bootstrap_servers({}) is None
    assert external_bootstrap_servers({"KAFKA_BOOTSTRAP_SERVERS": "h:9"}) == "h:9"


def test_env_unset_starts_a_local_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_start(self: LocalKafka) -> LocalKafka:
        calls.append("start")
        self.port = 4242
        return self

    def fake_stop(self: LocalKafka) -> None:
        calls.append("stop")

    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setattr(LocalKafka, "start", fake_start)
    monkeypatch.setattr(LocalKafka, "stop", fake_stop)
    with kafka_from_env() as bootstrap:
        assert bootstrap == "127.0.0.1:4242"
        assert calls == ["start"]
    assert calls == ["start", "stop"]


def test_cache_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WRAPUP_CACHE_DIR", str(tmp_path))
    assert tools.cache_dir() == tmp_path / f"kafka-{tools.KAFKA_VERSION}"
    assert tools.jars_dir() == tools.cache_dir() / "jars"


# --------------------------------------------------------------------------- real broker


async def test_produce_and_consume_roundtrip(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    sent: dict[bytes, int] = {}
    try:
        for i in range(30):
            meta = await producer.send_and_wait(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
            sent[f"k{i}".encode()] = meta.partition
    finally:
        await producer.stop()
    assert set(sent.values()) == {0, 1, 2}, "keys should spread over all 3 partitions"

    got = await _consume(kafka_bootstrap, topic, 30)
    assert sorted((k, v) for _, k, v in got) == sorted(
        (f"k{i}".encode(), f"v{i}".encode()) for i in range(30)
    )
    assert all(sent[k] == p for p, k, _ in got if k is not None), "key kept its partition"


async def test_topics_are_not_auto_created(kafka_bootstrap: str) -> None:
    topic = f"never-created-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, request_timeout_ms=1500)
    await producer.start()
    try:
        with pytest.raises((KafkaTimeoutError, UnknownTopicOrPartitionError)):
            await producer.send_and_wait(topic, b"x")
    finally:
        await producer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        assert topic not in await admin.list_topics()
    finally:
        await admin.close()


def _kcat() -> str:
    path = shutil.which("kcat")
    assert path, "kcat missing: run scripts/setup.sh"
    return path


async def test_kcat_produces_and_aiokafka_reads(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=2)
    lines = "".join(f"key{i}:value {i}\n" for i in range(10))
    subprocess.run(
        [_kcat(), "-q", "-b", kafka_bootstrap, "-t", topic, "-P", "-K", ":"],
        input=lines.encode(),
        check=True,
        timeout=60,
        capture_output=True,
    )
    got = await _consume(kafka_bootstrap, topic, 10)
    assert sorted((k, v) for _, k, v in got) == sorted(
        (f"key{i}".encode(), f"value {i}".encode()) for i in range(10)
    )


async def test_aiokafka_produces_and_kcat_reads(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
    finally:
        await producer.stop()
    cmd = [_kcat(), "-q", "-b", kafka_bootstrap, "-C", "-t", topic, "-o", "beginning"]
    cmd += ["-c", "5", "-f", "%k=%s\\n"]
    proc = subprocess.run(
        cmd,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    assert proc.stdout.splitlines() == [f"k{i}=v{i}" for i in range(5)]


# --------------------------------------------------------------------------- own brokers


def test_lifecycle_with_persistent_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "kafka"
    kafka = LocalKafka(data)
    with kafka:
        bootstrap = kafka.bootstrap_servers
        pid = kafka.pid
        assert pid is not None and kafka.is_running()
        assert probe_broker(bootstrap)
        topic = "persisted"
        ensure_topics_sync(bootstrap, [TopicSpec(topic, 2)])
        log = wait_for(
            lambda: "started" in kafka.log_file.read_text(), timeout=30, message="log line"
        )
        assert log
        assert kafka.stdout_file.read_text().strip() == "", "broker logs go to server.log only"
    assert not kafka.killed, "SIGTERM should have been enough"
    assert kafka.pid is None and not os.path.exists(f"/proc/{pid}")
    assert not probe_broker(bootstrap, timeout=1)
    assert (data / "kraft-logs" / "meta.properties").is_file(), "given data dir is kept"

    # a restart on the same directory (new ports) keeps the topic
    with LocalKafka(data) as again:
        assert ensure_topics_sync(again.bootstrap_servers, [TopicSpec(topic, 2)]) == {
            topic: False
        }


def test_start_failure_reports_the_broker_log(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        kafka = LocalKafka(
            tmp_path / "k",
            port=taken,
            controller_port=find_free_port(),
            start_timeout=90,
        )
        with pytest.raises(LocalKafkaError) as info:
            kafka.start()
    assert "exited" in str(info.value)
    assert "Address already in use" in str(info.value)
    assert not kafka.is_running()
    with contextlib.suppress(Exception):
        kafka.stop()
