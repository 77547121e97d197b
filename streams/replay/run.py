"""One replay run: check inputs, read the ledger, scan and plan, deliver what is missing.

Order matters for "posts nothing on bad input": the topic, the broker and (unless it is a
dry run) the API and the outcomes producer are all checked before the scan, and nothing
is posted before the whole window has been planned.

Each candidate the plan finds is, in this order:

* final in the ledger (applied / already applied / skipped): counted, not touched;
* wrapped by someone else according to a later event of the scan: skipped, and that
  outcome is published so the worker's table (and an offset reset) sees it as final;
* otherwise delivered by the worker's :class:`~streams.delivery.Dispatcher` with
  ``readback_first``: a GET first, so our code already on it is ``already_applied``,
  another code is ``skipped``, and only a still-open leg gets a POST. Its report
  (``source="replay"``) is published to the outcomes topic, keyed by the leg key, on the
  partition the worker's join uses for that interaction (every leg of an interaction is
  on its partition: never the default partitioner's hash of the leg key).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from streams import platforms
from streams.config import ConfigError, Settings
from streams.delivery import DeliveryJob, Dispatcher
from streams.events import parse_event
from streams.explain.partitioner import partition_for
from streams.kafka.errors import KafkaAccessError, start_client
from streams.kafka.reader import TopicReader
from streams.logs import log_outcome
from streams.outcomes import DeliveryReport, Outcome
from streams.replay.errors import ReplayError
from streams.replay.ledger import Ledger, read_ledger
from streams.replay.parallel import ScanProcesses, processes_for
from streams.replay.plan import Candidate, Decode
from streams.replay.progress import NoProgress, Progress
from streams.replay.summary import Summary
from streams.replay.timespec import Window, format_time

log = logging.getLogger("wrapup.replay")

SOURCE = "replay"
PROBE_ID = "wrapup-replay-probe"


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """What to replay and how (the CLI's options)."""

    window: Window
    topic: str
    lookback: float
    dry_run: bool = False
    concurrency: int = 16
    retry_for: float = 60.0  # keep retrying transient failures at least this long
    kafka_timeout: float = 15.0
    processes: int | None = None  # scan processes (keyed topics); None: one per usable CPU


DispatcherFactory = Callable[[Settings], Dispatcher]


def _dispatcher(settings: Settings) -> Dispatcher:
    return Dispatcher.from_settings(settings, source=SOURCE)


async def replay(
    settings: Settings,
    options: ReplayOptions,
    *,
    progress: Progress | None = None,
    echo: Callable[[str], None] = print,
    dispatcher_factory: DispatcherFactory = _dispatcher,
) -> Summary:
    """Run one replay; raises :class:`ReplayError` (nothing posted) on bad input."""
    try:
        return await _replay(settings, options, progress or NoProgress(), echo,
                             dispatcher_factory)
    except KafkaAccessError as exc:  # the plumbing's neutral error, told as the replay's
        raise ReplayError(str(exc)) from None


async def _replay(settings: Settings, options: ReplayOptions, progress: Progress,
                  echo: Callable[[str], None], dispatcher_factory: DispatcherFactory) -> Summary:
    window = options.window
    summary = Summary(options.topic, window.since, window.until,
                      window.since - options.lookback, options.dry_run)
    reader = TopicReader(settings.kafka_bootstrap_servers, timeout=options.kafka_timeout,
                         security=settings.kafka_security)
    await reader.start()
    dispatcher: Dispatcher | None = None
    producer: AIOKafkaProducer | None = None
    helpers = ScanProcesses([])
    try:
        partitions = await reader.partitions(options.topic)
        if not partitions:
            raise ReplayError(f"topic {options.topic!r} does not exist on "
                              f"{settings.kafka_bootstrap_servers}")
        spans = await reader.spans(options.topic, partitions, summary.scan_from,
                                   window.since, window.until)
        processes = processes_for(spans, settings.events_keyed, options.processes)
        # Their interpreters start while the API is probed and the ledger is read.
        helpers = await ScanProcesses.start(processes - 1)
        outcome_parts = await reader.partitions(settings.outcomes_topic)
        if not options.dry_run:
            dispatcher = dispatcher_factory(settings)
            await _probe_api(dispatcher, settings)
            producer = await _start_producer(settings, options.kafka_timeout)
            if outcome_parts is None:
                outcome_parts = await _create_outcomes_topic(settings, options.topic)
        ledger = await read_ledger(reader, settings.outcomes_topic)
        summary.ledger_entries = len(ledger)

        rules = settings.join_rules()
        started = time.monotonic()
        progress.begin("scan", sum(s.size for s in spans.values()), "events")
        plan = await helpers.fold(reader, options.topic, spans, rules, settings.events_keyed,
                                  progress, options.kafka_timeout, scan_decoder(settings))
        progress.end()
        summary.scan_seconds = time.monotonic() - started
        summary.processes = processes
        summary.events_scanned = plan.events_scanned
        summary.events_in_window = plan.events_in_window
        summary.rejected = plan.rejected
        summary.pairs_found = plan.pairs_found
        summary.pairs_before_window = plan.pairs_before_window
        summary.unpaired = plan.unpaired
        log.info("scan finished", extra={"events": plan.events_scanned,
                                          "pairs": plan.pairs_found,
                                          "seconds": round(summary.scan_seconds, 3)})

        # Publish on the join's partition only when the layouts line up (see the docstring).
        aligned = settings.events_keyed and outcome_parts == partitions
        todo = list(_triage(plan.candidates, ledger, summary, options.dry_run, echo))
        if options.dry_run:
            return summary
        assert dispatcher is not None and producer is not None
        deliverer = _Deliverer(settings, options, dispatcher, producer, summary, aligned,
                               len(outcome_parts or (0,)))
        started = time.monotonic()
        progress.begin("deliver", len(todo), "wrap-ups")
        await deliverer.run(todo, progress)
        progress.end()
        summary.deliver_seconds = time.monotonic() - started
        return summary
    finally:
        await helpers.close()
        await reader.stop()
        if dispatcher is not None:
            await dispatcher.aclose()
        if producer is not None:
            await producer.stop()


def _triage(candidates: list[Candidate], ledger: Ledger, summary: Summary, dry_run: bool,
            echo: Callable[[str], None]) -> Iterator[Candidate]:
    """Count what needs no API call; yield the candidates to deliver (or skip-publish)."""
    for c in candidates:
        final = ledger.final(c.key)
        if final is not None:
            outcome, reason = final
            if outcome.done:
                summary.already_done[f"ledger_{outcome.value}"] += 1
            else:
                summary.skipped[f"ledger_{reason or outcome.value}"] += 1
        elif c.skip_reason is not None:
            summary.skipped[c.skip_reason] += 1
            if not dry_run:
                yield c  # publish the skip (no API call)
        elif dry_run:
            summary.would_post += 1
            echo(f"would post {c.key} code={c.code.id} "
                 f"paired_at={format_time(c.paired_at)} partition={c.partition}")
        else:
            yield c


class _Deliverer:
    """Bounded-concurrency delivery and outcome publishing."""

    def __init__(self, settings: Settings, options: ReplayOptions, dispatcher: Dispatcher,
                 producer: AIOKafkaProducer, summary: Summary, aligned: bool,
                 outcome_partitions: int) -> None:
        self.settings = settings
        self.options = options
        self.dispatcher = dispatcher
        self.producer = producer
        self.summary = summary
        self.aligned = aligned
        self.outcome_partitions = outcome_partitions

    async def run(self, todo: list[Candidate], progress: Progress) -> None:
        queue = iter(todo)

        async def work() -> None:
            for candidate in queue:  # shared iterator: each candidate goes to one worker
                await self.one(candidate)
                progress.advance()

        workers = max(1, min(self.options.concurrency, len(todo)))
        await asyncio.gather(*(work() for _ in range(workers)))

    async def one(self, c: Candidate) -> None:
        if c.skip_reason is not None:
            report = DeliveryReport(
                interaction_id=c.interaction_id, outcome=Outcome.SKIPPED, reason=c.skip_reason,
                code_id=c.code.id, decided_at=c.paired_at, finished_at=time.time(),
                source=SOURCE, leg_id=c.leg_id)
        else:
            job = DeliveryJob(
                interaction_id=c.interaction_id,
                code=c.code,
                # The ACW deadline is often long past in a replay; the read-back decides
                # whether posting still makes sense, retries get a bounded budget.
                deadline=max(c.deadline, time.time() + self.options.retry_for),
                decided_at=c.paired_at,
                readback_first=True,
                leg_id=c.leg_id,
                communication_id=c.communication_id,
                media_type=c.media_type,
            )
            report = await self.dispatcher.deliver(job)
            self._tally(report)
        log_outcome(report, partition=c.partition)
        await self._publish(c, report)

    def _tally(self, report: DeliveryReport) -> None:
        s = self.summary
        if report.outcome is Outcome.APPLIED:
            s.posted += 1
        elif report.outcome is Outcome.ALREADY_APPLIED:
            s.already_done[report.reason] += 1
        elif report.outcome is Outcome.SKIPPED:
            s.skipped[report.reason] += 1
        else:
            s.failed[report.reason] += 1

    async def _publish(self, c: Candidate, report: DeliveryReport) -> None:
        key = c.key.encode()
        # The interaction's join partition: the events' own when the layouts line up,
        # else the default partitioner's choice for the interaction ID (the re-keyed
        # topic's key), never that of the leg key.
        partition = (c.partition if self.aligned
                     else partition_for(c.interaction_id.encode(), self.outcome_partitions))
        try:
            fut = await self.producer.send(self.settings.outcomes_topic, report.encode(),
                                           key=key, partition=partition)
            headers = report.dead_letter_headers()
            if headers is not None:
                await self.producer.send(self.settings.dead_letter_topic, report.encode(),
                                         key=key, headers=list(headers.items()))
            await fut
        except KafkaError as exc:
            self.summary.unrecorded += 1
            log.error("publishing the outcome failed", extra={
                "interaction_id": c.interaction_id, "error": type(exc).__name__,
                **({"leg_id": c.leg_id} if c.leg_id else {})})


def scan_decoder(settings: Settings) -> Decode:
    """How the scan reads a record: the platform's events side (several legs' events per
    record where it has them); the generic dialect's is the canonical parser itself."""
    if settings.platform == "generic":
        return parse_event  # what GenericEvents wraps, without building a tuple per record
    return platforms.load(settings).events.decode


async def _probe_api(dispatcher: Dispatcher, settings: Settings) -> None:
    """One GET before anything else: an unreachable API or rejected credentials stop here."""
    api = dispatcher.api
    exchange = await api.send("interaction", "GET",
                              dispatcher.templates.interaction_path(PROBE_ID))
    where = settings.api_base_url
    if exchange.error in ("token_rejected", "token_unavailable"):
        raise ReplayError(f"cannot get an access token for the API at {where}: "
                          f"{exchange.error}")
    if exchange.response is None:
        raise ReplayError(f"cannot reach the API at {where}: {exchange.error}")
    if exchange.status in (401, 403):
        raise ReplayError(f"the API at {where} rejects our credentials ({exchange.status})")


async def _start_producer(settings: Settings, timeout: float) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
                                client_id="wrapup-replay", linger_ms=5,
                                request_timeout_ms=int(timeout * 1000),
                                **settings.kafka_security.client_options())
    try:
        await start_client(producer.start(), producer.stop, settings.kafka_bootstrap_servers,
                           timeout, KafkaAccessError)
    except KafkaAccessError as exc:
        raise ReplayError(str(exc)) from None
    return producer


async def _create_outcomes_topic(settings: Settings, events_topic: str) -> list[int]:
    """No worker has run with these settings yet: create its topics as the worker would."""
    from streams.topics import prepare_topics

    try:
        layout = await prepare_topics(replace(settings, events_topic=events_topic))
    except ConfigError as exc:
        raise ReplayError(str(exc)) from None
    return list(range(layout.partitions))
