"""The partitioner agrees with Kafka's (known Java values) and aiokafka's."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from streams.explain.partitioner import murmur2, partition_for

# org.apache.kafka.common.utils.UtilsTest#testMurmur2
JAVA = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize(("data", "expected"), JAVA.items())
def test_murmur2_matches_the_java_client(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


def test_a_known_interaction_id_lands_where_kafka_puts_it() -> None:
    assert partition_for(b"int-42", 6) == 1
    assert DefaultPartitioner()(b"int-42", list(range(6)), []) == 1


@given(st.binary(max_size=64), st.integers(min_value=1, max_value=64))
def test_partition_for_agrees_with_aiokafka(key: bytes, partitions: int) -> None:
    everyone = list(range(partitions))
    assert partition_for(key, partitions) == DefaultPartitioner()(key, everyone, everyone)


def test_no_partitions_is_an_error() -> None:
    with pytest.raises(ValueError):
        partition_for(b"x", 0)
