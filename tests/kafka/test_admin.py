"""Topic administration on the session broker, and its one-line errors without one."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from streams.dev.kafka import find_free_port
from streams.kafka.admin import (
    Admin,
    KafkaAdminError,
    TopicSpec,
    describe_topic_config,
    ensure_topics,
    probe_broker,
)
from tests.conftest import TopicFactory


async def test_compacted_topic_config_and_idempotent_create(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=4, compact=True, config={"min.cleanable.dirty.ratio": "0.01"})
    config = await describe_topic_config(kafka_bootstrap, topic)
    assert config["cleanup.policy"] == "compact"
    assert config["min.cleanable.dirty.ratio"] == "0.01"

    # creating again (even with other settings) is a no-op, not an error
    again = await ensure_topics(kafka_bootstrap, [TopicSpec(topic, partitions=1)])
    assert again == {topic: False}

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert len(described["partitions"]) == 4

    plain = topic_factory()
    assert (await describe_topic_config(kafka_bootstrap, plain))["cleanup.policy"] == "delete"


async def test_admin_creates_describes_and_reports_partitions(kafka_bootstrap: str) -> None:
    name = f"admin-{uuid.uuid4().hex[:10]}"
    missing = f"missing-{uuid.uuid4().hex[:10]}"
    async with Admin(kafka_bootstrap, client_id="test-admin") as admin:
        assert await admin.partitions(missing) is None
        assert await admin.create([TopicSpec(name, 3)]) == {name: True}
        await admin.wait_for_leaders({name: 3}, deadline=float("inf"))
        assert await admin.partitions(name) == [0, 1, 2]
        counts = await admin.partition_counts()
        assert counts[name] == 3 and missing not in counts
        assert await admin.create([TopicSpec(name, 5)]) == {name: False}
        assert await admin.partition_counts([name]) == {name: 3}


async def test_an_invalid_topic_is_a_one_line_admin_error(kafka_bootstrap: str) -> None:
    async with Admin(kafka_bootstrap) as admin:
        with pytest.raises(KafkaAdminError, match=r"^creating topic 'bad' failed") as info:
            await admin.create([TopicSpec("bad", partitions=1, replication_factor=5)])
    assert "\n" not in str(info.value)


async def test_an_unreachable_broker_is_a_one_line_admin_error() -> None:
    servers = f"127.0.0.1:{find_free_port()}"
    with pytest.raises(KafkaAdminError) as info:
        await Admin(servers, timeout=2.0).start()
    assert str(info.value) == f"cannot reach Kafka at {servers}: KafkaConnectionError"
    assert not probe_broker(servers, timeout=1.0)


def test_probe_answers_for_a_live_broker(kafka_bootstrap: str) -> None:
    assert probe_broker(kafka_bootstrap)
