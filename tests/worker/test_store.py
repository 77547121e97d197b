"""The table's store and changelog settings as the worker wires them (no broker): the
memory store is bulk-read at assignment, the changelog compacts near the live set."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from faust.types import TP

from streams.config import Settings
from streams.join import InteractionState, Status
from streams.kafka.reader import Span
from streams.topics import CHANGELOG_CONFIGS, TopicLayout
from streams.worker import JoinWorker
from streams.worker.store import BulkLoadedStore
from streams.worker.table import encode_state
from tests.worker.fixtures import DEFAULT_POLICY, worker_env


def _worker(tmp_path: Path, **env: str) -> JoinWorker:
    settings = Settings.from_env(worker_env("127.0.0.1:9", "events", "http://127.0.0.1:9",
                                            tmp_path, **env,
                                            WRAPUP_POLICY_JSON=orjson.dumps(
                                                DEFAULT_POLICY).decode()))
    return JoinWorker(settings, TopicLayout.for_settings(settings, partitions=4))


def test_memory_store_is_bulk_loaded_and_changelog_configs_reach_the_topic(
        tmp_path: Path) -> None:
    worker = _worker(tmp_path)
    store: Any = worker.table.data
    assert isinstance(store, BulkLoadedStore) and store.reader_factory is not None
    config = worker.table.changelog_topic.config or {}
    for name, value in CHANGELOG_CONFIGS.items():
        assert config[name] == value
    conf = worker.app.conf
    assert conf.broker_max_poll_records == 500
    assert conf.stream_buffer_maxsize == 1024
    assert conf.producer_linger == 0.0


def test_rocksdb_store_is_faust_s_own(tmp_path: Path) -> None:
    worker = _worker(tmp_path, WRAPUP_STORE="rocksdb")
    assert not isinstance(worker.table.data, BulkLoadedStore)


def test_a_revoked_partition_loses_its_entries_and_offsets(tmp_path: Path) -> None:
    worker = _worker(tmp_path)
    store: Any = worker.table.data
    topic = worker.table.changelog_topic.get_topic_name()
    kept, gone = TP(topic, 0), TP(topic, 1)
    for key, partition in ((b"a", 0), (b"b", 1)):
        store.data[key] = encode_state(InteractionState(key.decode(), Status.DONE, 0.0, 9.0,
                                                        partition))
    store._loaded = {kept, gone}
    store.set_persisted_offset(kept, 41)
    store.set_persisted_offset(gone, 7)
    store.set_persisted_offset(TP(topic, 2), 3)  # never read in full: not persisted
    assert (store.persisted_offset(kept), store.persisted_offset(TP(topic, 2))) == (41, None)
    store._drop({1})
    assert sorted(store.data) == [b"a"]


class _Record:
    def __init__(self, key: bytes, value: bytes | None) -> None:
        self.key, self.value = key, value


class _Reader:
    """A changelog of (partition, key, value) records, as TopicReader hands them out."""

    def __init__(self, records: list[tuple[int, bytes, bytes | None]]) -> None:
        self.batches: dict[int, list[_Record]] = {}
        for partition, key, value in records:
            self.batches.setdefault(partition, []).append(_Record(key, value))

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def spans(self, topic: str, partitions: list[int], *_: Any) -> dict[int, Span]:
        return {p: Span(0, 0, len(self.batches.get(p, []))) for p in partitions}

    async def read(self, topic: str, spans: dict[int, Span], apply: Any, **_: Any) -> int:
        for partition in spans:
            apply(partition, self.batches.get(partition, []))
        return sum(len(b) for b in self.batches.values())


def test_a_bulk_load_keeps_each_key_s_last_value_in_memory_of_its_own(
        tmp_path: Path) -> None:
    worker = _worker(tmp_path)
    store: Any = worker.table.data
    topic = worker.table.changelog_topic.get_topic_name()
    records: list[tuple[int, bytes, bytes | None]] = [
        (0, b"a", b"a1"), (0, b"b", b"b1"), (0, b"a", b"a2"), (0, b"b", None),
        (1, b"c", b"c1"), (1, b"d", b"d1"), (1, b"c", None), (1, b"c", b"c2"),
    ]
    reader = _Reader(records)
    store.reader_factory = lambda: reader
    asyncio.run(store._load(topic, [TP(topic, 0), TP(topic, 1)]))
    assert store.data == {b"a": b"a2", b"c": b"c2", b"d": b"d1"}
    assert (store.persisted_offset(TP(topic, 0)), store.persisted_offset(TP(topic, 1))) \
        == (3, 3)
    # Copies, not the fetched objects: those pin the fetch's freed memory for hours.
    fetched = {id(x) for batch in reader.batches.values() for r in batch
               for x in (r.key, r.value)}
    assert not fetched & {id(x) for item in store.data.items() for x in item}
