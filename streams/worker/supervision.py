"""Delivery supervision: wrap-up deliveries as bounded background tasks.

The stream never waits for HTTP: each POST decision starts a task that first awaits the
changelog acknowledgement of the decision (durable before I/O), then takes one of
``WRAPUP_MAX_IN_FLIGHT`` slots and runs the dispatcher; its report is published to the
outcomes topic (retried: it must reach the ledger). After a rebalance or a restart the
DISPATCHING states a partition inherited are resumed with a read-back first, but only
once the partition's outcomes written before the assignment have been processed, so a
delivery that finished before the restart is not read back and reported again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from streams import metrics
from streams.config import Settings
from streams.delivery import DeliveryJob, Dispatcher
from streams.join import InteractionState, JoinRules, Status
from streams.outcomes import DeliveryReport

log = logging.getLogger("wrapup.worker")

DRAIN_SECONDS = 20.0
RESUME_GRACE_SECONDS = 60.0  # resume anyway if the outcomes backlog is not caught up by then

Publish = Callable[[bytes, int, DeliveryReport, InteractionState | None], Awaitable[None]]
Load = Callable[[bytes], InteractionState | None]


@dataclass
class _Delivery:
    task: asyncio.Task[None]
    cancelled: asyncio.Event
    partition: int


@dataclass(frozen=True, slots=True)
class _Resume:
    """Deliveries a partition inherited, to resume by ``by`` at the latest."""

    keys: list[bytes]
    by: float


class DeliverySupervisor:
    """Starts, cancels, resumes and drains the worker's deliveries."""

    def __init__(self, settings: Settings, rules: JoinRules, load: Load, publish: Publish,
                 dispatcher_factory: Callable[[Settings], Dispatcher]) -> None:
        self.settings = settings
        self.rules = rules
        self._load = load
        self._publish = publish
        self._dispatcher_factory = dispatcher_factory
        self._dispatcher: Dispatcher | None = None
        self._deliveries: dict[bytes, _Delivery] = {}
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        # Resumption, per partition: the outcomes end offset when it was assigned, the
        # offset after the last outcome processed, and the inherited open deliveries.
        self._outcomes_end: dict[int, int] = {}
        self._outcomes_next: dict[int, int] = {}
        self._to_resume: dict[int, _Resume] = {}

    def __contains__(self, key: bytes) -> bool:
        return key in self._deliveries

    # ------------------------------------------------------------ deliveries
    def start(self, key: bytes, state: InteractionState,
              changelog: Awaitable[Any] | None, *, readback_first: bool) -> None:
        """Deliver ``state``'s wrap-up in the background, after ``changelog`` is acked."""
        code = state.code
        if code is None:  # a DISPATCHING state always has one; be defensive
            return
        cancelled = asyncio.Event()
        job = DeliveryJob(
            interaction_id=state.interaction_id,
            code=code,
            deadline=state.deadline(self.rules),
            decided_at=state.paired_at,
            readback_first=readback_first,
            cancelled=cancelled,
            leg_id=state.leg_id,
            communication_id=state.communication_id,
            media_type=state.media_type,
        )
        task = asyncio.ensure_future(self._deliver(key, state, job, changelog))
        self._deliveries[key] = _Delivery(task, cancelled, state.partition)
        task.add_done_callback(lambda _t: self._forget(key, task))

    def cancel(self, key: bytes) -> None:
        """Someone else wrapped the leg: stop its delivery before its next try."""
        delivery = self._deliveries.get(key)
        if delivery is not None:
            delivery.cancelled.set()

    def _forget(self, key: bytes, task: asyncio.Task[None]) -> None:
        current = self._deliveries.get(key)
        if current is not None and current.task is task:
            del self._deliveries[key]

    async def _deliver(self, key: bytes, state: InteractionState, job: DeliveryJob,
                       changelog: Awaitable[Any] | None) -> None:
        if changelog is not None:
            await changelog  # the decision is durable before any HTTP request
        async with self._slots:
            metrics.IN_FLIGHT.inc()
            try:
                report = await self._get_dispatcher().deliver(job)
            finally:
                metrics.IN_FLIGHT.dec()
        if report.first_attempt_at is not None and report.decided_at is not None:
            metrics.DECISION_LATENCY.observe(
                max(0.0, report.first_attempt_at - report.decided_at))
        if report.outcome.done and report.finished_at is not None and state.ended_at:
            metrics.END_TO_END_LATENCY.observe(max(0.0, report.finished_at - state.ended_at))
        delay = 0.5
        for _attempt in range(60):  # the outcome must reach the ledger; Kafka may blip
            try:
                await self._publish(key, state.partition, report, state)
                return
            except Exception:
                log.exception("publishing an outcome failed; retrying")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _get_dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            self._dispatcher = self._dispatcher_factory(self.settings)
        return self._dispatcher

    # ------------------------------------------------------------ resumption
    def inherit(self, partition: int, keys: list[bytes], outcomes_end: int | None,
                now: float) -> None:
        """A newly assigned partition's DISPATCHING states, to resume once the outcomes
        before ``outcomes_end`` (None: unknown, resume at once) are processed."""
        if outcomes_end is None:
            self._outcomes_end.pop(partition, None)
        else:
            self._outcomes_end[partition] = outcomes_end
        self._to_resume[partition] = _Resume(
            [k for k in keys if k not in self._deliveries], now + RESUME_GRACE_SECONDS)

    def outcome_processed(self, partition: int, offset: int) -> None:
        self._outcomes_next[partition] = offset + 1

    def maybe_resume(self, partition: int, committed: int | None, now: float) -> None:
        """On a tick: resume the partition's inherited deliveries once caught up."""
        if partition in self._to_resume and self._caught_up(partition, committed, now):
            self._resume(partition, self._to_resume.pop(partition).keys)

    def _caught_up(self, partition: int, committed: int | None, now: float) -> bool:
        """True once every outcome written before the assignment has been processed (or
        none is to be read again: ``committed``), or the grace period is over."""
        end = self._outcomes_end.get(partition)
        if end is None:
            return True
        done = self._outcomes_next.get(partition, 0)
        if committed is not None:
            done = max(done, committed)
        if done >= end:
            return True
        if now >= self._to_resume[partition].by:
            log.warning("outcomes backlog not processed in time: resuming anyway",
                        extra={"partition": partition, "next": done, "end": end})
            return True
        return False

    def _resume(self, partition: int, keys: list[bytes]) -> None:
        """Start a read-back-first delivery for each inherited state still DISPATCHING."""
        resumed = 0
        for key in keys:
            state = self._load(key)
            if (state is not None and state.status is Status.DISPATCHING
                    and key not in self._deliveries):
                self.start(key, state, None, readback_first=True)
                resumed += 1
        if resumed:
            log.info("resumed deliveries", extra={"partition": partition, "count": resumed})

    # ------------------------------------------------------------ lifecycle
    def on_assigned(self, mine: set[int], lost: list[int]) -> None:
        """A rebalance: deliveries of partitions no longer ours stop (their new owner
        resumes them); resumption is planned again by each partition's first tick."""
        for p in lost:
            self._outcomes_next.pop(p, None)
        self._to_resume.clear()
        for key, delivery in list(self._deliveries.items()):
            if delivery.partition not in mine:
                delivery.task.cancel()
                self._deliveries.pop(key, None)

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """Give running deliveries a bounded time to finish; the rest resume on restart."""
        tasks = [d.task for d in self._deliveries.values()]
        if tasks:
            log.info("draining deliveries", extra={"count": len(tasks)})
            began = time.monotonic()
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            log.info("drained", extra={"seconds": round(time.monotonic() - began, 2)})
        if self._dispatcher is not None:
            await self._dispatcher.aclose()
