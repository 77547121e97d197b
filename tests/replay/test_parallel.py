"""Splitting a scan over processes: how many, and which partitions each one reads."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from streams.kafka.reader import Span
from streams.replay.parallel import (
    MIN_RECORDS_PER_PROCESS,
    available_cpus,
    processes_for,
    shard,
)


def spans(*sizes: int) -> dict[int, Span]:
    return {p: Span(100, 100, 100 + size) for p, size in enumerate(sizes)}


def test_unkeyed_topics_are_always_folded_in_one_process() -> None:
    assert processes_for(spans(10**6, 10**6), keyed=False) == 1
    assert processes_for(spans(10**6, 10**6), keyed=False, requested=8) == 1


def test_by_default_small_scans_stay_in_one_process() -> None:
    assert processes_for(spans(10, 10, 10), keyed=True) == 1
    big = MIN_RECORDS_PER_PROCESS * 64
    assert processes_for(spans(big, big), keyed=True) == min(2, available_cpus())


def test_a_cgroup_cpu_quota_caps_the_cpus(tmp_path: Path) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("100000 100000\n")  # a pod limited to 1 CPU
    assert available_cpus(cpu_max) == 1
    cpu_max.write_text("150000 100000\n")
    assert available_cpus(cpu_max) == min(2, available_cpus(tmp_path / "absent"))
    cpu_max.write_text("max 100000\n")
    assert available_cpus(cpu_max) == available_cpus(tmp_path / "absent") >= 1


def test_a_requested_count_is_capped_by_the_partitions_that_have_records() -> None:
    assert processes_for(spans(10, 0, 10), keyed=True, requested=8) == 2
    assert processes_for(spans(0, 0), keyed=True, requested=8) == 1
    assert processes_for(spans(5, 5, 5), keyed=True, requested=2) == 2


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=12), st.integers(1, 8))
def test_shards_cover_every_partition_once_and_are_balanced(
    sizes: list[int], count: int,
) -> None:
    all_spans = spans(*sizes)
    groups = shard(all_spans, count)
    seen = [p for g in groups for p in g]
    assert sorted(seen) == sorted(all_spans) and len(groups) <= count
    assert all(groups)
    loads = [sum(s.size for s in g.values()) for g in groups]
    if len(groups) > 1:
        assert max(loads) - min(loads) <= max(sizes)  # greedy: within one partition
