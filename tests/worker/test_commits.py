"""The commit protocol, driven with a fake consumer: its steps hold, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, NamedTuple

import pytest

from streams.continuity import ContinuityGuard
from streams.worker.commits import CommitProtocol
from streams.worker.tracking import AckTracker


class TP(NamedTuple):
    topic: str
    partition: int


class FakeConsumer:
    """Faust's consumer as the protocol sees it: a ``_commit`` that records its calls."""

    def __init__(self) -> None:
        self.committed: list[dict[TP, int]] = []
        self.log: list[str] = []

    async def _commit(self, offsets: Mapping[TP, int]) -> bool:
        self.log.append("commit")
        self.committed.append(dict(offsets))
        return True


EVENTS, OUTCOMES = TP("events", 0), TP("outcomes", 0)


def installed(timeout: float = 5.0) -> tuple[FakeConsumer, AckTracker, ContinuityGuard]:
    consumer, tracker, guard = FakeConsumer(), AckTracker(), ContinuityGuard()
    CommitProtocol(tracker, guard, flush_timeout=timeout).install(consumer)
    return consumer, tracker, guard


async def test_a_commit_waits_for_every_write_issued_before_it() -> None:
    consumer, tracker, _ = installed()
    loop = asyncio.get_running_loop()
    write: asyncio.Future[None] = loop.create_future()
    tracker.track(write)
    commit = asyncio.ensure_future(consumer._commit({EVENTS: 10}))
    await asyncio.sleep(0.05)
    assert consumer.committed == []  # the changelog write is not acknowledged yet
    consumer.log.append("ack")
    write.set_result(None)
    assert await commit is True
    assert consumer.log == ["ack", "commit"]
    assert consumer.committed == [{EVENTS: 10}]


async def test_writes_issued_after_the_commit_began_do_not_hold_it() -> None:
    consumer, tracker, _ = installed()
    loop = asyncio.get_running_loop()
    first: asyncio.Future[None] = loop.create_future()
    tracker.track(first)
    commit = asyncio.ensure_future(consumer._commit({EVENTS: 3}))
    await asyncio.sleep(0)
    later: asyncio.Future[None] = loop.create_future()
    tracker.track(later)  # caused by a record after the offsets were computed
    first.set_result(None)
    assert await asyncio.wait_for(commit, 2) is True
    assert not later.done() and len(tracker) == 1


async def test_an_unacknowledged_write_stops_the_commit_with_an_error() -> None:
    consumer, tracker, _ = installed(timeout=0.1)
    tracker.track(asyncio.get_running_loop().create_future())
    with pytest.raises(TimeoutError, match="1 changelog/dead-letter writes unacknowledged"):
        await consumer._commit({EVENTS: 10})
    assert consumer.committed == []


async def test_offsets_never_pass_the_next_record_the_join_has_to_process() -> None:
    consumer, _, guard = installed()
    guard.restart(("events", 0), 5)
    guard.observe(("events", 0), 5)
    assert guard.observe(("events", 0), 9) is not None  # 6..8 skipped: being read
    await consumer._commit({EVENTS: 10, OUTCOMES: 7})
    assert consumer.committed == [{EVENTS: 6, OUTCOMES: 7}]  # outcomes: no expectation


async def test_installing_twice_wraps_the_commit_once() -> None:
    consumer, tracker, guard = FakeConsumer(), AckTracker(), ContinuityGuard()
    protocol = CommitProtocol(tracker, guard)
    protocol.install(consumer)
    wrapped: Any = consumer._commit
    protocol.install(consumer)
    assert consumer._commit is wrapped
    await consumer._commit({EVENTS: 1})
    assert consumer.committed == [{EVENTS: 1}]
