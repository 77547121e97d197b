"""Changelog writes straight to the producer keep the store's persisted offset."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from streams.worker.changelog import ChangelogWriter


class _Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []
        self.futures: list[asyncio.Future[Any]] = []

    async def send(self, *args: Any) -> asyncio.Future[Any]:
        self.sent.append(args)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(fut)
        return fut


class _Store:
    def __init__(self) -> None:
        self.persisted: dict[TP, int] = {}

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        self.persisted[tp] = offset


def test_sends_raw_bytes_to_the_partition_and_records_the_acked_offset() -> None:
    async def run() -> None:
        producer, store = _Producer(), _Store()
        topic = SimpleNamespace(get_topic_name=lambda: "app-interactions-changelog")
        table = SimpleNamespace(changelog_topic=topic, data=store)
        writer = ChangelogWriter(SimpleNamespace(producer=producer), table)
        acked = await writer.send(b"i-1", b"[2]", 3)
        deleted = await writer.send(b"i-2", None, 1)
        failed = await writer.send(b"i-3", b"[2]", 0)
        assert producer.sent == [
            ("app-interactions-changelog", b"i-1", b"[2]", 3, None, None),
            ("app-interactions-changelog", b"i-2", None, 1, None, None),
            ("app-interactions-changelog", b"i-3", b"[2]", 0, None, None)]
        assert not store.persisted  # nothing before the broker's ack
        failed.set_exception(RuntimeError("broker gone"))  # its callback runs first
        acked.set_result(SimpleNamespace(topic="app-interactions-changelog", partition=3,
                                         offset=41))
        deleted.set_result(SimpleNamespace(topic="app-interactions-changelog", partition=1,
                                           offset=7))
        # Done callbacks are scheduled by the loop: wait for them, with a deadline.
        async def recorded() -> None:
            while len(store.persisted) < 2:
                await asyncio.sleep(0)

        await asyncio.wait_for(recorded(), timeout=5)
        with pytest.raises(RuntimeError):
            await failed
        assert store.persisted == {TP("app-interactions-changelog", 3): 41,
                                   TP("app-interactions-changelog", 1): 7}

    asyncio.run(run())
