"""The bounded reader: exactly the records of its spans, and neutral errors."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from streams.dev.kafka import find_free_port
from streams.kafka.errors import KafkaAccessError
from streams.kafka.reader import KafkaReadError, Span, TopicReader
from streams.replay.errors import ReplayError
from tests.conftest import TopicFactory


async def test_reads_exactly_its_spans_and_never_tails(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(topic, f"v{i}".encode(), partition=i % 2)
    finally:
        await producer.stop()
    reader = TopicReader(kafka_bootstrap, client_id="test-reader")
    await reader.start()
    try:
        assert await reader.partitions(topic) == [0, 1]
        spans = await reader.spans(topic, [0, 1], None, None, None)
        assert spans == {0: Span(0, 0, 5), 1: Span(0, 0, 5)}
        assert await reader.spans(topic, [0], time.time() + 3600, None, None) == {0: Span(5, 5, 5)}
        got: dict[int, list[int]] = {0: [], 1: []}

        def on_batch(partition: int, records: Sequence[Any]) -> None:
            got[partition].extend(r.offset for r in records)

        assert await reader.read(topic, {0: Span(1, 1, 4), 1: Span(3, 3, 5)}, on_batch) == 5
        assert got == {0: [1, 2, 3], 1: [3, 4]}
    finally:
        await reader.stop()


async def test_an_unreachable_broker_is_a_kafka_error_not_a_replay_error() -> None:
    servers = f"127.0.0.1:{find_free_port()}"
    reader = TopicReader(servers, timeout=2.0)
    with pytest.raises(KafkaAccessError) as info:
        await reader.start()
    assert not isinstance(info.value, ReplayError)
    assert str(info.value) == f"cannot reach Kafka at {servers}: KafkaConnectionError"
    assert issubclass(KafkaReadError, KafkaAccessError)
