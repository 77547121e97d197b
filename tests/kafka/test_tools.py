"""The Java tools runner: Kafka's ConsumerGroupCommand on the cached jars."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.kafka.tools import CONSUMER_GROUP_COMMAND, KafkaToolError, run_kafka_tool
from tests.conftest import TopicFactory


async def test_consumer_group_tool_resets_offsets(
    kafka_bootstrap: str, topic_factory: TopicFactory, kafka_jars: Path
) -> None:
    topic = topic_factory()
    group = f"grp-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for i in range(4):
            await producer.send_and_wait(topic, f"m{i}".encode())
    finally:
        await producer.stop()
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.commit({tp: 4})
        assert await consumer.committed(tp) == 4
    finally:
        await consumer.stop()

    args = ["--bootstrap-server", kafka_bootstrap, "--group", group, "--topic", topic]
    args += ["--reset-offsets", "--to-offset", "1", "--execute"]
    proc = run_kafka_tool(CONSUMER_GROUP_COMMAND, args, jars=kafka_jars, timeout=120)
    assert topic in proc.stdout

    checker = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
    await checker.start()
    try:
        assert await checker.committed(tp) == 1
    finally:
        await checker.stop()


def test_a_failing_tool_raises_with_its_output(kafka_jars: Path) -> None:
    with pytest.raises(KafkaToolError, match="exited 1") as info:
        run_kafka_tool(CONSUMER_GROUP_COMMAND, ["--no-such-option"], jars=kafka_jars)
    assert "no-such-option" in str(info.value)
    proc = run_kafka_tool(CONSUMER_GROUP_COMMAND, ["--no-such-option"], jars=kafka_jars,
                          check=False)
    assert proc.returncode == 1


def test_missing_jars_say_how_to_get_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(KafkaToolError, match=r"not in .*: run `wrapup kafka fetch`"):
        run_kafka_tool(CONSUMER_GROUP_COMMAND, ["--help"], jars=tmp_path)
    monkeypatch.setenv("WRAPUP_CACHE_DIR", str(tmp_path))  # the default place is empty too
    with pytest.raises(KafkaToolError, match=str(tmp_path)):
        run_kafka_tool(CONSUMER_GROUP_COMMAND, ["--help"])
