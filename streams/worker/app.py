"""The Faust worker: a thin shell that feeds Kafka records to the pure join.

One agent (concurrency 1, faust-streaming #606) consumes, co-partitioned:

* the events topic (or its re-keyed copy) — platform events, via :func:`join.decide`;
* the outcomes topic — final delivery reports, via :func:`join.record_outcome`;
* the ticks topic — one tick per partition every few seconds, via :func:`join.expire`,
  so deadlines fire and tail holes are found even when a partition is quiet, and the
  table is only ever written inside stream iteration.

:class:`JoinWorker` wires the app and coordinates, per record: ingest
(:mod:`.ingest`), continuity (:mod:`.holes`), the pure transition, the table write and
what the decision asks for — a delivery (:mod:`.supervision`) or a published outcome.
A decision to post is written to the changelog-backed table as DISPATCHING and its
delivery waits for that write's acknowledgement before any HTTP request; offsets are
committed only as :mod:`.commits` allows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import faust
from faust.types import TP

from streams import metrics, platforms
from streams.config import Settings
from streams.delivery import Dispatcher
from streams.join import (
    Action,
    InteractionState,
    Status,
    Step,
    decide,
    expire,
    record_outcome,
)
from streams.kafka.reader import TopicReader
from streams.logs import log_outcome
from streams.outcomes import DeliveryReport, Outcome
from streams.topics import CHANGELOG_BATCH_BYTES, CHANGELOG_CONFIGS, TopicLayout
from streams.web import HealthState, WebServer
from streams.worker import store
from streams.worker.changelog import ChangelogWriter
from streams.worker.commits import CommitProtocol
from streams.worker.holes import HoleFiller
from streams.worker.ingest import Ingest, Where
from streams.worker.internals import (
    committed_offset,
    consumer_position,
    drop_monitor_sensor,
    leave_group_on_close,
    shorten_fetch_wait,
)
from streams.worker.memory import HeapTrimmer
from streams.worker.partitions import PartitionBook
from streams.worker.reload import PolicyWatcher
from streams.worker.supervision import DeliverySupervisor
from streams.worker.table import decode_state, encode_state, partition_of
from streams.worker.tracking import AckTracker

log = logging.getLogger("wrapup.worker")

TICK_KEY = b"tick"
_RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes,
                        "key_serializer": "raw", "value_serializer": "raw"}


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
        self.policy = PolicyWatcher.open(settings.policy_file, settings.policy)
        self.rules = dataclasses.replace(settings.join_rules(), policy=self.policy.policy)
        self.clock = clock
        self.platform = platforms.load(settings)
        self.tracker = AckTracker()
        self.holes = HoleFiller(settings, layout.outcomes)
        self.commits = CommitProtocol(self.tracker, self.holes.guard)
        self.deliveries = DeliverySupervisor(settings, self.rules, self._load, self._publish,
                                             dispatcher_factory)
        self._started = False  # set by the first timer tick: the app is running
        self.book = PartitionBook()
        self.heap = HeapTrimmer()
        self.health = HealthState()
        self.app = self._build_app()

    # ------------------------------------------------------------------ wiring
    def _build_app(self) -> faust.App:
        s, layout = self.settings, self.layout
        servers = [f"kafka://{srv.strip()}" for srv in s.kafka_bootstrap_servers.split(",")]
        app = faust.App(
            s.app_id,
            broker=servers,
            store=f"{store.SCHEME}://" if s.store == "memory" else "rocksdb://",
            datadir=str(s.data_dir),
            web_enabled=False,
            topic_partitions=layout.partitions,
            topic_replication_factor=s.replication_factor,
            consumer_auto_offset_reset=s.auto_offset_reset,
            producer_acks=-1,
            # No linger: a POST waits for its decision's changelog ack (writes issued
            # during the one request in flight per broker batch anyway).
            producer_linger=0.0,
            producer_max_batch_size=CHANGELOG_BATCH_BYTES,
            broker_session_timeout=s.session_timeout,
            broker_heartbeat_interval=min(3.0, s.session_timeout / 3),
            # Static membership: a worker restarted with the same ID (a pod of a
            # StatefulSet) gets its partitions back at once instead of waiting out the
            # dead member's session; see k8s/README.md.
            consumer_group_instance_id=s.group_instance_id,
            stream_wait_empty=False,
            # Bounded hand-offs: what a catch-up buffers (prefetched records, the stream's
            # queue) stays in the RSS after it, among the states it left behind.
            broker_max_poll_records=500,
            consumer_max_fetch_size=256 * 1024,
            stream_buffer_maxsize=1024,
            # A standby copy promoted on failover missed the last changelog writes of the
            # dead owner in CI (pairs never completed); full recovery from the changelog
            # on takeover is slower but complete (the table is bounded by its TTLs).
            table_standby_replicas=0,
            **s.kafka_security.faust_options(),  # consumer, producer and admin alike
        )
        self.table = app.Table(
            "interactions", default=None, partitions=layout.partitions,
            key_type=bytes, value_type=bytes, extra_topic_configs=CHANGELOG_CONFIGS,
        )
        self.changelog = ChangelogWriter(app, self.table)
        if isinstance(self.table.data, store.BulkLoadedStore):
            self.table.data.configure(
                lambda: TopicReader(s.kafka_bootstrap_servers, client_id=f"{s.app_id}-changelog",
                                    security=s.kafka_security), partition_of)
        self.outcomes_topic = app.topic(layout.outcomes, partitions=layout.partitions, **_RAW)
        self.ticks_topic = app.topic(layout.ticks, partitions=layout.partitions, **_RAW)
        self.dead_letter_topic = app.topic(layout.dead_letter, **_RAW)
        rekeyed = (app.topic(layout.rekeyed, partitions=layout.partitions, **_RAW)
                   if layout.rekeyed else None)
        self.ingest = Ingest(self.platform.events, self.tracker, self.dead_letter_topic,
                             check_keys=rekeyed is None, rekeyed_topic=rekeyed)
        source = app.topic(layout.join_source, layout.outcomes, layout.ticks, **_RAW)

        async def join(stream: faust.StreamT[bytes]) -> None:
            async for record in stream.events():
                await self.handle(record.message.topic, record.message.partition,
                                  record.key, record.value, record.message.offset)

        app.agent(source, name="join", concurrency=1)(join)

        if rekeyed is not None:
            async def rekey(stream: faust.StreamT[bytes]) -> None:
                async for record in stream.events():
                    message = record.message
                    await self.holes.before(message.topic, message.partition,
                                            message.offset, self.ingest.forward_record)
                    await self.ingest.forward(Where(message.topic, message.partition),
                                              record.value)

            app.agent(app.topic(layout.events, **_RAW), name="rekey", concurrency=1)(rekey)

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
        if self.policy.staged is not None:
            self._apply_policy()
        if topic == self.layout.ticks:
            await self._on_tick(partition, self.clock())
            return
        self.heap.processed()
        if offset is not None:
            await self.holes.before(topic, partition, offset, self._process_record)
        await self._process(topic, partition, key, value, offset)

    def _apply_policy(self) -> None:
        """Between records: the staged policy becomes the join's (pairs already made keep
        the code in their state)."""
        policy = self.policy.take()
        if policy is not None:
            self.rules = dataclasses.replace(self.rules, policy=policy)
            self.deliveries.rules = self.rules

    async def _process_record(self, record: Any) -> None:
        """A record read to fill a hole."""
        await self._process(record.topic, record.partition, record.key, record.value,
                            record.offset)

    async def _process(self, topic: str, partition: int, key: bytes | None,
                       value: bytes | None, offset: int | None) -> None:
        now = self.clock()
        if topic == self.layout.outcomes:
            await self._on_outcome(partition, key, value, now)
            if offset is not None:
                self.deliveries.outcome_processed(partition, offset)
            return
        for event in await self.ingest.decode(Where(topic, partition), value, key):
            skew = now - event.occurred_at
            if abs(skew) > self.settings.clock_skew_warn:
                metrics.EVENTS_CLOCK_SKEWED.labels("past" if skew > 0 else "future").inc()
            lkey = event.key.encode()  # the table is keyed by leg, records by interaction
            await self._apply(lkey, partition, self._load(lkey),
                              functools.partial(decide, event=event, now=now,
                                                rules=self.rules), now)

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
        if self.book.ensure_built(partition, self.table.data.items()):
            self.heap.trim()  # the recovery's read buffers, freed among the states kept
        inherited = self.book.take_inherited(partition)
        if inherited is not None:
            await self._plan_resume(partition, inherited, now)
        await self._fill_tail_holes(partition)
        committed = committed_offset(self.app.consumer, TP(self.layout.outcomes, partition))
        self.deliveries.maybe_resume(partition, committed, now)
        for key in self.book.index.pop_due(partition, now):
            state = self._load(key)
            if state is None or state.partition != partition:
                continue
            if state.expires_at > now:  # an early entry (see PartitionBook.changed)
                self.book.later(partition, key, state.expires_at)
                continue
            await self._apply(key, partition, state,
                              lambda st: expire(_present(st), now, self.rules), now)
        totals = self.book.totals()
        metrics.PENDING.set(totals[Status.PENDING])
        for status in Status:
            metrics.TABLE_ENTRIES.labels(status.value).set(totals[status])

    async def _fill_tail_holes(self, partition: int) -> None:
        """Each of the partition's sources: records the consumer moved past but the join
        never saw, with no later record to reveal them (see :mod:`streams.continuity`)."""
        sources: list[tuple[str, Callable[[Any], Awaitable[None]]]] = [
            (self.layout.join_source, self._process_record),
            (self.layout.outcomes, self._process_record),
        ]
        if self.layout.rekeyed:
            sources.append((self.layout.events, self.ingest.forward_record))
        for topic, process in sources:
            tp = TP(topic, partition)
            await self.holes.tail(topic, partition, self._position(tp), process)

    def _position(self, tp: TP) -> int | None:
        return consumer_position(self.app.consumer, tp)

    async def _plan_resume(self, partition: int, inherited: list[bytes], now: float) -> None:
        """First tick after an assignment: the open deliveries the partition inherited
        resume once the outcomes written before now are processed."""
        tp = TP(self.layout.outcomes, partition)
        end: int | None
        try:
            end = (await self.app.consumer.highwaters(tp))[tp]
        except Exception:
            log.warning("outcomes end offset unknown: resuming at once",
                        extra={"partition": partition}, exc_info=True)
            end = None
        self.deliveries.inherit(partition, inherited, end, now)

    # ------------------------------------------------------------ transitions
    def _load(self, key: bytes) -> InteractionState | None:
        return decode_state(self.table.get(key))

    async def _apply(self, key: bytes, partition: int, old: InteractionState | None,
                     transition: Callable[[InteractionState | None], Step], now: float) -> None:
        step = transition(old)
        decision, state = step.decision, step.state
        metrics.child(metrics.JOIN_DECISIONS, decision.action.value, decision.reason).inc()
        if state is not None and state.partition != partition:
            state = state._replace(partition=partition)
        changelog: Awaitable[Any] | None = None
        if state != old:
            self.book.changed(partition, key, old, state)
            # The delivery of a POST decision awaits this write's acknowledgement.
            changelog = await self._write(key, partition, state)
        if decision.action is Action.POST and state is not None:
            metrics.PAIRS_COMPLETED.inc()
            if old is not None:
                metrics.PAIRING_WAIT.observe(max(0.0, now - old.first_seen_at))
            self.deliveries.start(key, state, changelog, readback_first=False)
        elif decision.action is Action.CANCEL:
            self.deliveries.cancel(key)
        elif decision.action is Action.PUBLISH and decision.report is not None:
            if decision.report.outcome is Outcome.EXPIRED:
                metrics.EXPIRED.labels(decision.report.reason).inc()
            await self._publish(key, partition, decision.report, state)

    async def _write(self, key: bytes, partition: int,
                     state: InteractionState | None) -> Awaitable[Any]:
        """Set (or delete) a table entry and send it to the changelog, tracked until acked
        (commits wait for it: :mod:`.commits`). Sent straight to the producer, not through
        Faust's channel layer (:mod:`.changelog`): the returned future is the broker's ack."""
        if state is None:
            self.table.data.pop(key, None)
            value = None
        else:
            value = encode_state(state)
            self.table.data[key] = value
        fut: Awaitable[Any] = self.tracker.track(
            await self.changelog.send(key, value, partition))
        return fut

    async def _publish(self, key: bytes, partition: int, report: DeliveryReport,
                       state: InteractionState | None) -> None:
        """Send a final outcome to the ledger (and dead-letter failures); wait for the ack."""
        metrics.OUTCOMES.labels(report.outcome.value, report.reason).inc()
        log_outcome(report, campaign_id=state.campaign_id if state else None,
                    queue_id=state.queue_id if state else None)
        fut = await self.outcomes_topic.send(key=key, value=report.encode(),
                                             partition=partition)
        headers = report.dead_letter_headers()
        if headers is not None:
            metrics.DEAD_LETTERS.labels("delivery", report.reason).inc()
            await self.tracker.send(self.dead_letter_topic, key=key, value=report.encode(),
                                    headers=headers)
        await fut

    # ---------------------------------------------------------- lifecycle
    async def _tick_all_partitions(self) -> None:
        """Timer: one tick per assigned partition, plus lag and readiness gauges."""
        self._started = True
        self.heap.tick()
        self.policy.poll()  # a valid change is applied by the next record (a tick at worst)
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
            committed = committed_offset(consumer, tp)
            if high is not None:
                lag = high - (committed if committed is not None else 0)
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, lag))

    async def _on_revoked(self, sender: Any, revoked: set[TP], **_: Any) -> None:
        metrics.READY.set(0)

    async def _on_assigned(self, sender: Any, assigned: set[TP], **_: Any) -> None:
        self.commits.install(self.app.consumer)
        drop_monitor_sensor(self.app)
        shorten_fetch_wait(self.app.consumer)
        self.holes.install(self.app.consumer, {self.layout.join_source,
                                               self.layout.outcomes, self.layout.events})
        metrics.REBALANCES.inc()
        mine = {tp.partition for tp in assigned if tp.topic == self.layout.join_source}
        lost = self.book.assigned(mine)
        self.deliveries.on_assigned(mine, lost)
        self.holes.forget()  # reading restarts from the committed offsets

    async def _on_shutdown(self, sender: Any, **_: Any) -> None:
        leave_group_on_close(self.app.consumer)
        await self.deliveries.drain()
        await self.holes.stop()
        await self.web.stop()


def _present(state: InteractionState | None) -> InteractionState:
    assert state is not None
    return state
