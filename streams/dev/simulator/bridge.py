"""The event bridge: drives the simulation clock and publishes lifecycle events to Kafka.

For every planned interaction the bridge registers a timeline with the
:class:`~streams.dev.simulator.platform.Platform`, wakes up whenever one of them is due
for a transition, and turns each transition the platform reports (including wrap-ups
set by our POSTs) into an event in the wire format of :mod:`streams.events`::

    interaction:ended        data: id, agentId, campaignId, queueId, acwDeadline (epoch ms)
    interaction:wrapping-up  data: same
    interaction:wrapped      data: id, agentId, campaignId, queueId, source, wrapupCode.id

That is the generic dialect's wire; another dialect (:mod:`.dialects`) says which records
a transition becomes (:meth:`~.dialects.base.Dialect.messages`, several at once for some).
Each event is delayed, duplicated or lost as the workload plan says. Messages are
keyed by interaction ID unless ``keyed=False``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer

from streams.dev.simulator.dialects import Dialect
from streams.dev.simulator.dialects import load as load_dialect
from streams.dev.simulator.dialects.base import EVENT_TYPES
from streams.dev.simulator.lifecycle import Transition
from streams.dev.simulator.platform import InteractionInfo, Platform
from streams.dev.simulator.workload import EventFault, PlannedInteraction, Workload
from streams.events import EventType

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """Where the bridge's messages go."""

    async def send(self, key: bytes | None, value: bytes) -> None: ...

    async def close(self) -> None: ...


class KafkaPublisher:
    """Publishes to one topic with aiokafka (acks=all); delivery failures are raised on
    :meth:`close` (or the next :meth:`send`)."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.topic = topic
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers, acks="all", linger_ms=5
        )
        self._pending: set[asyncio.Future[Any]] = set()
        self._failure: BaseException | None = None
        self._started = False

    async def start(self) -> None:
        await self._producer.start()
        self._started = True

    async def send(self, key: bytes | None, value: bytes) -> None:
        if self._failure is not None:
            raise self._failure
        fut = await self._producer.send(self.topic, value, key=key)
        self._pending.add(fut)
        fut.add_done_callback(self._delivered)

    def _delivered(self, fut: asyncio.Future[Any]) -> None:
        self._pending.discard(fut)
        if not fut.cancelled() and fut.exception() is not None and self._failure is None:
            self._failure = fut.exception()

    async def close(self) -> None:
        if not self._started:
            return
        try:
            if self._pending:
                await asyncio.gather(*list(self._pending))
            if self._failure is not None:
                raise self._failure
        finally:
            self._pending.clear()
            self._started = False
            await self._producer.stop()


@dataclass(frozen=True, slots=True)
class Published:
    """One message the bridge sent (kept for tests and the run summary)."""

    at: float
    interaction_id: str
    type: EventType
    key: bytes | None
    value: bytes
    duplicate: bool = False


@dataclass(order=True, slots=True)
class _Item:
    due: float
    seq: int
    interaction_id: str
    value: bytes | None = None  # None: a due check of the interaction; else a message
    type: EventType | None = None
    duplicate: bool = False


class Bridge:
    """Plays a :class:`Workload` on a :class:`Platform` and publishes its events.

    ``speed`` compresses simulated time (2.0: everything twice as fast). The clock is the
    platform's; ``start`` fixes simulated t=0 at ``t0`` (default: now + ``lead``).
    """

    def __init__(
        self,
        platform: Platform,
        workload: Workload,
        publisher: Publisher,
        *,
        speed: float = 1.0,
        keyed: bool = True,
        dialect: Dialect | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.platform = platform
        self.workload = workload
        self.publisher = publisher
        self.speed = speed
        self.keyed = keyed
        self.dialect = dialect or load_dialect()
        self.t0: float | None = None
        self.published: list[Published] = []
        self.lost: Counter[EventType] = Counter()
        self._plan = workload.by_id()
        self._heap: list[_Item] = []
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._wrapped = 0
        self._messages_due = 0
        self.done = asyncio.Event()
        self.error: BaseException | None = None
        platform.add_listener(self._on_transition)

    @property
    def clock(self) -> Callable[[], float]:
        return self.platform.clock

    def real(self, sim_seconds: float) -> float:
        """Real seconds for a simulated duration."""
        return sim_seconds / self.speed

    async def start(self, t0: float | None = None, lead: float = 0.2) -> None:
        """Register every planned interaction and start publishing in the background."""
        self.t0 = self.clock() + lead if t0 is None else t0
        for p in self.workload.interactions:
            timeline = p.timeline(self.t0, self.speed)
            self.platform.add_interaction(
                InteractionInfo(p.interaction_id, p.agent_id, p.campaign_id, p.queue_id),
                timeline,
            )
            self._push(_Item(timeline.ended_at, next(self._seq), p.interaction_id))
        if not self.workload.interactions:
            self.done.set()
        self._task = asyncio.create_task(self._run(), name="simulator-bridge")

    async def wait_done(self, timeout: float) -> bool:
        """Wait until every interaction is wrapped and every event sent; False on timeout."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.done.wait(), timeout)
        if self.error is not None:
            raise RuntimeError("the bridge failed") from self.error
        return self.done.is_set()

    async def stop(self) -> None:
        """Stop publishing (pending messages are dropped) and close the publisher."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.publisher.close()

    def stats(self) -> dict[str, Any]:
        """Messages published by type, duplicates and lost events."""
        by_type = Counter(p.type.value for p in self.published)
        return {
            "published": len(self.published),
            "by_type": dict(by_type),
            "duplicates": sum(p.duplicate for p in self.published),
            "lost": {k.value: v for k, v in self.lost.items()},
            "pending": self._messages_due,
        }

    # ---- internals

    def _push(self, item: _Item) -> None:
        if item.value is not None:
            self._messages_due += 1
        heapq.heappush(self._heap, item)
        self._wakeup.set()

    def _on_transition(self, info: InteractionInfo, transition: Transition) -> None:
        plan = self._plan.get(info.interaction_id)
        if plan is None:
            return  # registered by someone else (e.g. an ad-hoc admin interaction)
        event_type = EVENT_TYPES[transition.state]
        fault = _fault(plan, event_type)
        if event_type is EventType.WRAPPED:
            self._wrapped += 1
        if fault.lost:
            self.lost[event_type] += 1
            return
        # Not clamped to now: a late bridge still publishes in the planned order.
        due = transition.at + self.real(fault.delay)
        for message in self.dialect.messages(self.platform, plan, transition):
            for copy in range(1 + fault.duplicates):
                self._push(
                    _Item(due + copy * self.real(max(fault.delay, 0.01)), next(self._seq),
                          info.interaction_id, message.value, message.type, copy > 0)
                )

    async def _run(self) -> None:
        try:
            while True:
                self._wakeup.clear()
                now = self.clock()
                while self._heap and self._heap[0].due <= now:
                    item = heapq.heappop(self._heap)
                    await self._handle(item)
                    await asyncio.sleep(0)  # let consumers and the API run between sends
                if not self._messages_due and self._wrapped >= len(self._plan):
                    self.done.set()
                if self._heap:
                    wait: float | None = max(0.0, self._heap[0].due - self.clock())
                else:
                    wait = None
                if wait == 0.0:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), wait)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # surfaced by wait_done
            log.exception("simulator bridge failed")
            self.error = exc
            self.done.set()

    async def _handle(self, item: _Item) -> None:
        if item.value is None:
            # A due check: settling reports transitions to _on_transition (which
            # schedules their messages); then come back when the next one is due.
            self.platform.settle(item.interaction_id)
            nxt = self.platform.lifecycle(item.interaction_id).next_due()
            if nxt is not None:
                self._push(_Item(max(nxt, self.clock() + 0.001), next(self._seq),
                                 item.interaction_id))
            return
        assert item.type is not None
        self._messages_due -= 1
        key = self.dialect.record_key(self._plan[item.interaction_id]) if self.keyed else None
        await self.publisher.send(key, item.value)
        self.published.append(
            Published(self.clock(), item.interaction_id, item.type, key, item.value,
                      item.duplicate)
        )


def _fault(plan: PlannedInteraction, event_type: EventType) -> EventFault:
    if event_type is EventType.ENDED:
        return plan.ended_event
    if event_type is EventType.WRAPPING_UP:
        return plan.wrapping_up_event
    return plan.wrapped_event
