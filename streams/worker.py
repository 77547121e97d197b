"""The Faust worker: a thin shell that feeds Kafka records to the pure join.

One agent (concurrency 1, faust-streaming #606) consumes, co-partitioned:

* the events topic (or its re-keyed copy) — platform events, via :func:`join.decide`;
* the outcomes topic — final delivery reports, via :func:`join.record_outcome`;
* the ticks topic — one tick per partition every few seconds, via :func:`join.expire`,
  so deadlines fire even when a partition is quiet, and the table is only ever
  written inside stream iteration.

A decision to post is written to the changelog-backed table as DISPATCHING and the
delivery task waits for that write to be acknowledged before any HTTP request, so a
worker killed at any moment resumes outstanding deliveries (read-back first) after
a restart or rebalance and never posts a finished wrap-up again. Resumption waits until
the partition's outcomes written before the assignment have been processed, so a
delivery that finished before the restart (its report not yet folded into the table)
is not read back and reported a second time. Deliveries run as bounded background
tasks: a slow API never stalls the partition's event stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import faust
import orjson
from faust.types import TP

from streams import metrics
from streams.config import Settings
from streams.continuity import ContinuityGuard, Hole
from streams.delivery import DeliveryJob, Dispatcher
from streams.events import Event, Rejection, is_ignorable, parse_event
from streams.join import (
    Action,
    InteractionState,
    JoinRules,
    Status,
    Step,
    decide,
    expire,
    record_outcome,
)
from streams.kafka.reader import KafkaReadError, Span, TopicReader
from streams.logs import log_outcome
from streams.outcomes import DeliveryReport, Outcome
from streams.schedule import ExpiryIndex
from streams.topics import TopicLayout
from streams.web import HealthState, WebServer

log = logging.getLogger("wrapup.worker")

TICK_KEY = b"tick"
DRAIN_SECONDS = 20.0
FLUSH_TIMEOUT_SECONDS = 60.0  # a commit waits at most this long for our writes' acks
RESUME_GRACE_SECONDS = 60.0  # resume anyway if the outcomes backlog is not caught up by then
HOLE_READ_ATTEMPTS = 3  # reads of records Faust skipped, before giving up (see continuity)


def encode_state(state: InteractionState) -> bytes:
    """Table value of a state."""
    return orjson.dumps(state.to_dict())


def decode_state(raw: bytes | None) -> InteractionState | None:
    """Inverse of :func:`encode_state` (None for a missing entry)."""
    return None if raw is None else InteractionState.from_dict(orjson.loads(raw))


@dataclass
class _Delivery:
    task: asyncio.Task[None]
    cancelled: asyncio.Event
    partition: int


class JoinWorker:
    """Builds the Faust app and owns its per-process runtime state."""

    def __init__(
        self,
        settings: Settings,
        layout: TopicLayout,
        *,
        dispatcher_factory: Callable[[Settings], Dispatcher] = Dispatcher.from_settings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.layout = layout
        self.rules = JoinRules(
            policy=settings.policy,
            pending_ttl=settings.pending_ttl,
            retention=settings.state_retention,
            default_acw=settings.default_acw,
        )
        self.clock = clock
        self._dispatcher_factory = dispatcher_factory
        self._dispatcher: Dispatcher | None = None
        self._deliveries: dict[bytes, _Delivery] = {}
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._unacked: set[Any] = set()
        self._first_seek_done = False
        self._started = False  # set by the first timer tick: the app is running
        self._index = ExpiryIndex()
        self._status_counts: dict[int, Counter[Status]] = {}
        # Resumption, per partition: the outcomes end offset when it was assigned, the
        # offset after the last outcome processed, and the inherited open deliveries.
        self._outcomes_end: dict[int, int] = {}
        self._outcomes_next: dict[int, int] = {}
        self._to_resume: dict[int, _Resume] = {}
        self._continuity = ContinuityGuard()
        self._hole_reader: TopicReader | None = None
        self.health = HealthState()
        self.app = self._build_app()

    # ------------------------------------------------------------------ wiring
    def _build_app(self) -> faust.App:
        s, layout = self.settings, self.layout
        servers = [f"kafka://{srv.strip()}" for srv in s.kafka_bootstrap_servers.split(",")]
        app = faust.App(
            s.app_id,
            broker=servers,
            store="memory://" if s.store == "memory" else "rocksdb://",
            datadir=str(s.data_dir),
            web_enabled=False,
            topic_partitions=layout.partitions,
            topic_replication_factor=s.replication_factor,
            consumer_auto_offset_reset=s.auto_offset_reset,
            producer_acks=-1,
            producer_linger=0.005,  # batch changelog writes: ack round trips bound throughput
            broker_session_timeout=s.session_timeout,
            broker_heartbeat_interval=min(3.0, s.session_timeout / 3),
            stream_wait_empty=False,
            # A standby copy promoted on failover missed the last changelog writes of the
            # dead owner in CI (pairs never completed); full recovery from the changelog
            # on takeover is slower but complete (the table is bounded by its TTLs).
            table_standby_replicas=0,
        )
        raw: dict[str, Any] = {
            "key_type": bytes, "value_type": bytes,
            "key_serializer": "raw", "value_serializer": "raw",
        }
        self.table = app.Table(
            "interactions", default=None, partitions=layout.partitions,
            key_type=bytes, value_type=bytes,
        )
        self.outcomes_topic = app.topic(layout.outcomes, partitions=layout.partitions, **raw)
        self.ticks_topic = app.topic(layout.ticks, partitions=layout.partitions, **raw)
        self.dead_letter_topic = app.topic(layout.dead_letter, **raw)
        source = app.topic(layout.join_source, layout.outcomes, layout.ticks, **raw)

        async def join(stream: faust.StreamT[bytes]) -> None:
            async for record in stream.events():
                await self.handle(record.message.topic, record.message.partition,
                                  record.key, record.value, record.message.offset)

        app.agent(source, name="join", concurrency=1)(join)

        if layout.rekeyed:
            rekeyed = app.topic(layout.rekeyed, partitions=layout.partitions, **raw)

            async def rekey(stream: faust.StreamT[bytes]) -> None:
                async def forward(where: Any, value: bytes | None) -> None:
                    event = await self._parse_or_dead_letter(where, value)
                    if event is not None:  # commits wait for the copy's ack
                        await self._send_tracked(rekeyed, key=event.interaction_id.encode(),
                                                 value=value)

                async def forward_skipped(skipped: Any) -> None:
                    await forward(_Where(skipped.topic, skipped.partition), skipped.value)

                async for record in stream.events():
                    message = record.message
                    await self._fill_any_hole(message.topic, message.partition,
                                              message.offset, forward_skipped)
                    await forward(_Where(message.topic, message.partition), record.value)

            app.agent(app.topic(layout.events, **raw), name="rekey", concurrency=1)(rekey)

        app.timer(s.tick_interval)(self._tick_all_partitions)
        app.on_partitions_revoked.connect(cast(Any, self._on_revoked))
        app.on_partitions_assigned.connect(cast(Any, self._on_assigned))
        app.on_before_shutdown.connect(cast(Any, self._on_shutdown))
        self.web = WebServer(s.web_host, s.web_port, self.health)
        self.health.is_ready = self._is_ready
        return app

    def _is_ready(self) -> bool:
        recovery = getattr(self.app.tables, "recovery", None)
        in_recovery = bool(getattr(recovery, "in_recovery", False))
        return self._started and not self.app.rebalancing and not in_recovery

    # ----------------------------------------------------------- agent input
    async def handle(self, topic: str, partition: int, key: bytes | None,
                     value: bytes | None, offset: int | None = None) -> None:
        """Process one record of the join agent's source (inside stream iteration)."""
        if topic == self.layout.ticks:
            await self._on_tick(partition, self.clock())
            return
        if offset is not None:
            await self._fill_any_hole(topic, partition, offset, self._process_skipped)
        await self._process(topic, partition, key, value, offset)

    async def _process_skipped(self, record: Any) -> None:
        """A record read to fill a hole (see :meth:`_fill_any_hole`)."""
        await self._process(record.topic, record.partition, record.key, record.value,
                            record.offset)

    async def _process(self, topic: str, partition: int, key: bytes | None,
                       value: bytes | None, offset: int | None) -> None:
        now = self.clock()
        if topic == self.layout.outcomes:
            await self._on_outcome(partition, key, value, now)
            if offset is not None:
                self._outcomes_next[partition] = offset + 1
        else:
            event = await self._parse_or_dead_letter(
                _Where(topic, partition), value, key=key
            )
            if event is not None:
                ikey = event.interaction_id.encode()
                await self._apply(ikey, partition, self._load(ikey),
                                  lambda st: decide(st, event, now, self.rules), now)

    async def _fill_any_hole(self, topic: str, partition: int, offset: int,
                             process: Callable[[Any], Awaitable[None]]) -> None:
        """Before the record at ``offset``: if Faust skipped records of this partition
        (see :mod:`streams.continuity`), read them with a separate reader and
        ``process`` each, in order."""
        tp = (topic, partition)
        hole = self._continuity.observe(tp, offset)
        if hole is None:
            return
        source = "outcomes" if topic == self.layout.outcomes else "events"
        metrics.SOURCE_HOLES.labels(source).inc()
        log.warning("records were skipped: reading them first", extra={
            "topic": topic, "partition": partition, "from": hole.start, "to": hole.end})
        for record in await self._read_hole(topic, partition, hole):
            await process(record)
            self._continuity.processed(tp, record.offset)
        self._continuity.processed(tp, offset)

    async def _read_hole(self, topic: str, partition: int, hole: Hole) -> list[Any]:
        """The records of ``[hole.start, hole.end)`` (bounded, retried); raises when
        they cannot be read: commits of the partition stay behind the hole meanwhile."""
        if self._hole_reader is None:
            self._hole_reader = TopicReader(self.settings.kafka_bootstrap_servers,
                                            client_id=f"{self.settings.app_id}-holes")
            await self._hole_reader.start()
        records: list[Any] = []
        for attempt in range(1, HOLE_READ_ATTEMPTS + 1):
            records.clear()
            try:
                await self._hole_reader.read(
                    topic, {partition: Span(hole.start, hole.start, hole.end)},
                    lambda _p, batch: records.extend(batch), stall_timeout=10.0)
                return records
            except KafkaReadError:
                log.warning("reading skipped records failed", exc_info=True,
                            extra={"attempt": attempt})
                await asyncio.sleep(attempt)
        raise RuntimeError(f"cannot read skipped records {hole.start}..{hole.end - 1} of "
                           f"{topic}/{partition}; commits stay behind them")

    async def _parse_or_dead_letter(
        self, where: Any, value: bytes | None, *, key: bytes | None = None
    ) -> Event | None:
        parsed = parse_event(value)
        if isinstance(parsed, Rejection):
            if is_ignorable(parsed):
                metrics.EVENTS.labels("other", "ignored").inc()
                return None
            metrics.EVENTS.labels("invalid", "rejected").inc()
            await self._dead_letter_event(where, value, parsed.reason.value, parsed.detail)
            return None
        keyed = key is not None and self.layout.rekeyed is None
        if keyed and key != parsed.interaction_id.encode():
            metrics.EVENTS.labels(parsed.type.value, "rejected").inc()
            await self._dead_letter_event(where, value, "key_mismatch",
                                          "record key is not the interaction ID")
            return None
        metrics.EVENTS.labels(parsed.type.value, "accepted").inc()
        return parsed

    async def _dead_letter_event(self, where: Any, value: bytes | None, reason: str,
                                 detail: str) -> None:
        metrics.EVENTS_REJECTED.labels(reason).inc()
        metrics.DEAD_LETTERS.labels("event", reason).inc()
        log.warning("event rejected", extra={"reason": reason, "detail": detail,
                                             "topic": where.topic, "partition": where.partition})
        await self._send_tracked(self.dead_letter_topic,
            value=value or b"",
            headers={
                "wrapup-kind": b"event",
                "wrapup-reason": reason.encode(),
                "wrapup-detail": detail[:500].encode(),
                "wrapup-source": f"{where.topic}/{where.partition}".encode(),
            },
        )

    async def _send_tracked(self, topic: Any, **kwargs: Any) -> None:
        self._track(await topic.send(**kwargs))

    async def _on_outcome(self, partition: int, key: bytes | None, value: bytes | None,
                          now: float) -> None:
        if key is None or value is None:
            return
        try:
            report = DeliveryReport.decode(value)
        except ValueError:
            log.warning("malformed outcome record ignored", extra={"partition": partition})
            return
        await self._apply(key, partition, self._load(key),
                          lambda st: record_outcome(st, report, now, self.rules), now)

    async def _on_tick(self, partition: int, now: float) -> None:
        if not self._index.is_built(partition):
            await self._rebuild_partition(partition, now)
        if partition in self._to_resume and self._caught_up(partition, now):
            self._resume(partition, self._to_resume.pop(partition).keys)
        for key in self._index.pop_due(partition, now):
            state = self._load(key)
            if state is None or state.partition != partition:
                continue
            await self._apply(key, partition, state, lambda st: _expire(st, now, self.rules), now)
        metrics.PENDING.set(sum(c[Status.PENDING] for c in self._status_counts.values()))
        for status in Status:
            metrics.TABLE_ENTRIES.labels(status.value).set(
                sum(c[status] for c in self._status_counts.values()))

    async def _rebuild_partition(self, partition: int, now: float) -> None:
        """First tick after an assignment: index the partition; the open deliveries it
        inherited resume once the outcomes written before now are processed (see
        :meth:`_caught_up`)."""
        entries: list[tuple[bytes, float]] = []
        counts: Counter[Status] = Counter()
        inherited: list[bytes] = []
        for key, raw in list(self.table.items()):
            state = decode_state(raw)
            if state is None or state.partition != partition:
                continue
            entries.append((key, state.expires_at))
            counts[state.status] += 1
            if state.status is Status.DISPATCHING and key not in self._deliveries:
                inherited.append(key)
        self._index.rebuild(partition, entries)
        self._status_counts[partition] = counts
        tp = TP(self.layout.outcomes, partition)
        try:
            self._outcomes_end[partition] = (await self.app.consumer.highwaters(tp))[tp]
        except Exception:
            log.warning("outcomes end offset unknown: resuming at once",
                        extra={"partition": partition}, exc_info=True)
            self._outcomes_end.pop(partition, None)
        self._to_resume[partition] = _Resume(inherited, now + RESUME_GRACE_SECONDS)

    def _caught_up(self, partition: int, now: float) -> bool:
        """True once every outcome written before the assignment has been processed (or
        none is to be read again: committed), or the grace period is over."""
        end = self._outcomes_end.get(partition)
        if end is None:
            return True
        done = self._outcomes_next.get(partition, 0)
        committed = getattr(self.app.consumer, "_committed_offset", {}).get(
            TP(self.layout.outcomes, partition))
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
                self._start_delivery(key, state, None, readback_first=True)
                resumed += 1
        if resumed:
            log.info("resumed deliveries", extra={"partition": partition, "count": resumed})

    # ------------------------------------------------------------ transitions
    def _load(self, key: bytes) -> InteractionState | None:
        return decode_state(self.table.get(key))

    async def _apply(self, key: bytes, partition: int, old: InteractionState | None,
                     transition: Callable[[InteractionState | None], Step], now: float) -> None:
        step = transition(old)
        decision, state = step.decision, step.state
        metrics.JOIN_DECISIONS.labels(decision.action.value, decision.reason).inc()
        if state is not None and state.partition != partition:
            state = state._replace(partition=partition)
        changelog: Awaitable[Any] | None = None
        if state != old:
            self._count(partition, old, state)
            # The delivery of a POST decision awaits this write's acknowledgement.
            changelog = self._write(key, partition, None if state is None else state)
            if state is not None:
                self._index.schedule(partition, key, state.expires_at)
        if decision.action is Action.POST and state is not None:
            metrics.PAIRS_COMPLETED.inc()
            if old is not None:
                metrics.PAIRING_WAIT.observe(max(0.0, now - old.first_seen_at))
            self._start_delivery(key, state, changelog, readback_first=False)
        elif decision.action is Action.CANCEL:
            delivery = self._deliveries.get(key)
            if delivery is not None:
                delivery.cancelled.set()
        elif decision.action is Action.PUBLISH and decision.report is not None:
            if decision.report.outcome is Outcome.EXPIRED:
                metrics.EXPIRED.labels(decision.report.reason).inc()
            await self._publish(key, partition, decision.report, state)

    def _write(self, key: bytes, partition: int,
               state: InteractionState | None) -> Awaitable[Any]:
        """Set (or delete) a table entry and send it to the changelog, tracked until acked.

        Faust's own commit-time flush gives up after 0.1 s without progress, so under
        load it could commit a source offset before the table write it caused reached
        the changelog; :meth:`_flush_tracked` closes that gap.
        """
        if state is None:
            self.table.data.pop(key, None)
            value = None
        else:
            value = encode_state(state)
            self.table.data[key] = value
        fut: Awaitable[Any] = self._track(self.table.send_changelog(partition, key, value))
        return fut

    def _track(self, fut: Any) -> Any:
        """Remember an unacknowledged send; commits wait for it (see _flush_tracked)."""
        self._unacked.add(fut)
        fut.add_done_callback(self._unacked.discard)
        return fut

    async def _flush_tracked(self) -> None:
        """Wait until every tracked send is acknowledged; raise rather than let a
        commit overtake a write that never made it."""
        deadline = time.monotonic() + FLUSH_TIMEOUT_SECONDS
        while self._unacked:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(
                    f"{len(self._unacked)} changelog/dead-letter writes unacknowledged "
                    f"after {FLUSH_TIMEOUT_SECONDS:.0f}s: not committing past them")
            await asyncio.wait(list(self._unacked), timeout=remaining)

    def _guard_commits(self) -> None:
        """Make the producer flush that precedes every offset commit wait for our writes;
        tell the continuity guard where reading restarts after a rebalance, and keep
        commits behind records it is re-reading."""
        producer: Any = self.app.producer
        if getattr(producer, "_wrapup_guarded", False):
            return
        original = producer.flush

        async def flush() -> None:
            await original()
            await self._flush_tracked()

        producer.flush = flush
        producer._wrapup_guarded = True
        consumer: Any = self.app.consumer
        commit_offsets = consumer._commit
        seek_to_committed = consumer.perform_seek

        async def perform_seek() -> None:
            await seek_to_committed()
            # A partition never committed (its last owner died before its first commit)
            # starts where WRAPUP_AUTO_OFFSET_RESET says; Faust's consumer may leave it
            # at its end, skipping every record written before the assignment.
            # Only at this process's first assignment: seeking during a later, live
            # rebalance stalls the consumer (seen in the two-worker failover test).
            first, self._first_seek_done = not self._first_seek_done, True
            sources = {self.layout.join_source, self.layout.outcomes, self.layout.events}
            uncommitted = [tp for tp, offset in consumer._read_offset.items()
                           if first and offset is None and tp.topic in sources]
            if uncommitted and self.settings.auto_offset_reset == "earliest":
                for tp, offset in (await consumer.earliest_offsets(*uncommitted)).items():
                    await consumer.seek(tp, offset)
                    self._continuity.restart((tp.topic, tp.partition), offset)
            for tp, offset in list(consumer._read_offset.items()):
                if tp not in uncommitted:
                    self._continuity.restart((tp.topic, tp.partition), offset)

        consumer.perform_seek = perform_seek

        async def commit(offsets: Mapping[TP, int]) -> bool:
            capped = {}
            for tp, offset in offsets.items():
                cap = self._continuity.commit_cap((tp.topic, tp.partition))
                capped[tp] = offset if cap is None else min(offset, cap)
            return bool(await commit_offsets(capped))

        consumer._commit = commit

    def _count(self, partition: int, old: InteractionState | None,
               new: InteractionState | None) -> None:
        counts = self._status_counts.setdefault(partition, Counter())
        if old is not None:
            counts[old.status] -= 1
        if new is not None:
            counts[new.status] += 1

    # -------------------------------------------------------------- delivery
    def _start_delivery(self, key: bytes, state: InteractionState,
                        changelog: Awaitable[Any] | None, *, readback_first: bool) -> None:
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
        )
        task = asyncio.ensure_future(self._deliver(key, state, job, changelog))
        self._deliveries[key] = _Delivery(task, cancelled, state.partition)
        task.add_done_callback(lambda _t: self._forget_delivery(key, task))

    def _forget_delivery(self, key: bytes, task: asyncio.Task[None]) -> None:
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

    async def _publish(self, key: bytes, partition: int, report: DeliveryReport,
                       state: InteractionState | None) -> None:
        """Send a final outcome to the ledger (and dead-letter failures); wait for the ack."""
        metrics.OUTCOMES.labels(report.outcome.value, report.reason).inc()
        log_outcome(report, campaign_id=state.campaign_id if state else None,
                    queue_id=state.queue_id if state else None)
        fut = await self.outcomes_topic.send(key=key, value=report.encode(),
                                             partition=partition)
        if report.outcome is Outcome.FAILED:
            metrics.DEAD_LETTERS.labels("delivery", report.reason).inc()
            await self._send_tracked(
                self.dead_letter_topic, key=key, value=report.encode(),
                headers={"wrapup-kind": b"delivery", "wrapup-reason": report.reason.encode()},
            )
        await fut

    # ---------------------------------------------------------- lifecycle
    async def _tick_all_partitions(self) -> None:
        """Timer: one tick per assigned partition, plus lag and readiness gauges."""
        self._started = True
        assigned = self.app.consumer.assignment()
        now = self.clock()
        for tp in assigned:
            if tp.topic == self.layout.ticks:
                await self.ticks_topic.send(key=TICK_KEY, value=repr(now).encode(),
                                            partition=tp.partition)
        for tp in assigned:
            if tp.topic == self.layout.join_source:
                self._observe_lag(tp)
        metrics.READY.set(1 if self._is_ready() else 0)

    def _observe_lag(self, tp: TP) -> None:
        consumer = self.app.consumer
        with contextlib.suppress(Exception):
            high = consumer.highwater(tp)
            committed = getattr(consumer, "_committed_offset", {}).get(tp)
            if high is not None:
                lag = high - (committed if committed is not None else 0)
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, lag))

    async def _on_revoked(self, sender: Any, revoked: set[TP], **_: Any) -> None:
        metrics.READY.set(0)

    async def _on_assigned(self, sender: Any, assigned: set[TP], **_: Any) -> None:
        self._guard_commits()
        metrics.REBALANCES.inc()
        mine = {tp.partition for tp in assigned if tp.topic == self.layout.join_source}
        lost = [p for p in list(self._status_counts) if p not in mine]
        self._index.forget(set(self._status_counts) | set(mine))
        for p in lost:
            self._status_counts.pop(p, None)
            self._outcomes_next.pop(p, None)
        self._to_resume.clear()  # set again by each partition's first tick (rebuild)
        self._continuity.forget()  # reading restarts from the committed offsets
        for key, delivery in list(self._deliveries.items()):
            if delivery.partition not in mine:
                delivery.task.cancel()
                self._deliveries.pop(key, None)

    async def _on_shutdown(self, sender: Any, **_: Any) -> None:
        """Give running deliveries a bounded time to finish; the rest resume on restart."""
        tasks = [d.task for d in self._deliveries.values()]
        if tasks:
            log.info("draining deliveries", extra={"count": len(tasks)})
            _done, pending = await asyncio.wait(tasks, timeout=DRAIN_SECONDS)
            for task in pending:
                task.cancel()
        if self._dispatcher is not None:
            await self._dispatcher.aclose()
        if self._hole_reader is not None:
            await self._hole_reader.stop()
        await self.web.stop()


def _expire(state: InteractionState | None, now: float, rules: JoinRules) -> Step:
    assert state is not None
    return expire(state, now, rules)


@dataclass(frozen=True, slots=True)
class _Resume:
    """Deliveries a partition inherited, to resume by ``by`` at the latest."""

    keys: list[bytes]
    by: float


@dataclass(frozen=True, slots=True)
class _Where:
    topic: str
    partition: int
