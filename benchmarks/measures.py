"""The measures behind ``benchmarks/all.py``: each starts real workers against the broker.

Every wait is bounded in time and every load loop in count. A :class:`Trace` collects
(time, value) samples of RSS and latency for the chart.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiokafka import AIOKafkaProducer

from benchmarks.k8s_sizing import produce, rss_mib
from streams.config import kafka_security_from_env
from streams.join import InteractionState, Status
from streams.kafka.admin import TopicSpec, ensure_topics_sync
from streams.kafka.reader import TopicReader
from streams.outcomes import Outcome
from streams.worker.table import encode_state
from tests.worker.fixtures import (
    RecordingPlatform,
    WorkerProcess,
    event,
    free_port,
    worker_env,
)

DEADLINE = 600.0  # no single wait of a measure lasts longer


@dataclass
class Trace:
    """Samples for the chart: RSS of the worker under test, latency of each POST."""

    began: float = field(default_factory=time.monotonic)
    rss: list[tuple[float, float, str]] = field(default_factory=list)
    latency: list[tuple[float, float, str]] = field(default_factory=list)
    _pid: int | None = None
    _label: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)

    def follow(self, pid: int | None, label: str) -> None:
        self._pid, self._label = pid, label

    def start(self) -> None:
        def run() -> None:
            while not self._stop.wait(0.5):
                if self._pid is not None:
                    with contextlib.suppress(OSError, RuntimeError):
                        self.rss.append((time.monotonic() - self.began, rss_mib(self._pid),
                                         self._label))
        threading.Thread(target=run, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()


class TimedPlatform(RecordingPlatform):
    """The recording platform, noting when each POST arrived (wall clock)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    async def _post(self, request: web.Request) -> web.Response:
        self.arrived.setdefault(request.match_info["iid"], time.time())
        return await super()._post(request)


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:.0f}s")
        time.sleep(0.25)


def _topic(bootstrap: str, prefix: str, partitions: int) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    ensure_topics_sync(bootstrap, [TopicSpec(name, partitions)],
                       security=kafka_security_from_env())
    return name


def _worker(bootstrap: str, topic: str, url: str, work: Path, trace: Trace, label: str,
            **env: str) -> WorkerProcess:
    # The default tick (5 s): a shorter one makes the tail-hole check read records that
    # are only waiting in Faust's stream buffer under a backlog.
    settings = {"WRAPUP_LOG_LEVEL": "WARNING", "WRAPUP_TICK_INTERVAL_SECONDS": "5",
                "WRAPUP_API_RATE_LIMIT": "5000", **env}
    worker = WorkerProcess(worker_env(bootstrap, topic, url, work / f"data-{label}",
                                      **settings), work / f"{label}.log").start()
    assert worker.proc is not None
    trace.follow(worker.proc.pid, label)
    return worker


# ------------------------------------------------------------------ memory held
@dataclass
class Held:
    idle_mib: float
    held_mib: float
    n: int
    seconds: float
    changelog_records: int
    empty_ready: float  # seconds from start to ready on an empty table
    restart_ready: float  # ... for a second worker taking over the N interactions
    restart_mib: float
    restart_read: float  # the takeover's bulk read and first index (its log)
    restart_index: float

    @property
    def restart_rate(self) -> float:
        """States/s of the takeover (as :attr:`Recovery.recovering`)."""
        return self.n / max(1e-3, self.restart_read + self.restart_index,
                            self.restart_ready - self.empty_ready)

    @property
    def per_interaction(self) -> float:
        return (self.held_mib - self.idle_mib) * 1024 * 1024 / self.n


def held(bootstrap: str, work: Path, trace: Trace, n: int, store: str = "memory",
         partitions: int = 4) -> Held:
    """RSS of a worker holding ``n`` finished interactions it joined live."""
    topic = _topic(bootstrap, "bench-held", partitions)
    platform = TimedPlatform()
    platform.start()
    worker = _worker(bootstrap, topic, platform.base_url, work, trace, f"held-{store}",
                     WRAPUP_STORE=store)
    second: WorkerProcess | None = None
    try:
        t0 = time.monotonic()
        worker.wait_ready(timeout=180)
        empty_ready = time.monotonic() - t0
        time.sleep(2)
        assert worker.proc is not None
        idle = rss_mib(worker.proc.pid)
        base = time.time() - 30
        records = []
        for i in range(n):
            key = f"held-{i:07d}".encode()
            records.append((key, event("ended", key.decode(), ts=base + i * 1e-4)))
            records.append((key, event("wrapping-up", key.decode(), ts=base + i * 1e-4)))
        t0 = time.monotonic()
        loader = threading.Thread(target=produce, args=(bootstrap, topic, records))
        loader.start()
        wait_until(lambda: len(platform.arrived) >= n, DEADLINE, f"{n} wrap-ups posted")
        loader.join(60)
        seconds = time.monotonic() - t0
        wait_until(lambda: worker.metric("wrapup_table_entries", status="done") >= n,
                   120, f"{n} interactions done")
        # Two ticks (5 s): the first quiet one after the load hands freed heap pages
        # back (streams/worker/memory.py), as any pause in traffic does.
        time.sleep(12)
        held_mib = rss_mib(worker.proc.pid)
        changelog = _end_offsets(bootstrap, f"{worker.env['WRAPUP_APP_ID']}-interactions-changelog")
        worker.stop(timeout=60)
        # A second worker (fresh data directory) takes the N over from the changelog
        # as written: about three records per interaction, nothing compacted yet.
        second = WorkerProcess({**worker.env, "WRAPUP_DATA_DIR": str(work / f"data2-{store}"),
                                "WRAPUP_WEB_PORT": str(free_port()), "WRAPUP_LOG_LEVEL": "INFO"},
                               work / f"held2-{store}.log").start()
        assert second.proc is not None
        trace.follow(second.proc.pid, f"takeover-{store}")
        t0 = time.monotonic()
        second.wait_ready(timeout=DEADLINE)
        restart_ready = time.monotonic() - t0
        log = second.log_path
        wait_until(lambda: '"msg":"partitions indexed"' in log.read_text(errors="replace"),
                   120, "the takeover's index")
        time.sleep(1)
        return Held(idle, held_mib, n, seconds, changelog, empty_ready, restart_ready,
                    rss_mib(second.proc.pid), _logged_seconds(log, "changelog read"),
                    _logged_seconds(log, "partitions indexed"))
    finally:
        worker.stop(timeout=60)
        if second is not None:
            second.stop(timeout=60)
        platform.stop()


def _end_offsets(bootstrap: str, topic: str) -> int:
    """Records written to ``topic`` (the sum of its partitions' end offsets)."""
    async def run() -> int:
        reader = TopicReader(bootstrap, client_id="bench", security=kafka_security_from_env())
        await reader.start()
        try:
            spans = await reader.spans(topic, await reader.partitions(topic) or [], None,
                                       None, None)
            return sum(span.end for span in spans.values())
        finally:
            await reader.stop()
    return asyncio.run(run())


# --------------------------------------------------------------------- recovery
@dataclass
class Recovery:
    n: int
    empty_seconds: float
    seconds: float
    rss_mib: float
    idle_mib: float
    read_seconds: float  # the bulk read of the changelog (the worker's log)
    index_seconds: float  # the first tick's index of the table (the loop is busy meanwhile)

    @property
    def recovering(self) -> float:
        """Seconds the partitions post nothing for the table's sake: the bulk read and
        the index, or the extra start-up time over an empty changelog if that is more."""
        return max(self.read_seconds + self.index_seconds, self.seconds - self.empty_seconds)

    @property
    def rate(self) -> float:
        return self.n / max(1e-3, self.recovering)


def _states(n: int, partitions: int) -> list[tuple[int, bytes, bytes]]:
    now = time.time()
    out = []
    for i in range(n):
        iid = f"rec-{i:08d}"
        p = i % partitions
        state = InteractionState(
            iid, Status.DONE, now - 60, now + 6 * 3600, p, now - 60, now - 59, None, None,
            "c-renewals", "q-sales", f"a-{i % 50}", None, "wc-renewal", "Renewal - auto",
            now - 59, Outcome.APPLIED, "applied")
        out.append((p, iid.encode(), encode_state(state)))
    return out


async def _load_changelog(bootstrap: str, topic: str,
                          states: list[tuple[int, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=50,
                                max_batch_size=1024 * 1024,
                                **kafka_security_from_env().client_options())
    await producer.start()
    try:
        for start in range(0, len(states), 20_000):
            sent = [await producer.send(topic, value, key=key, partition=p)
                    for p, key, value in states[start:start + 20_000]]
            await asyncio.gather(*sent)
    finally:
        await producer.stop()


def _logged_seconds(log: Path, message: str) -> float:
    """Sum of the ``seconds`` of the worker's log lines with ``message``."""
    total = 0.0
    for line in log.read_text(errors="replace").splitlines():
        if f'"msg":"{message}"' in line:
            total += float(orjson.loads(line).get("seconds", 0.0))
    return total


def _time_to_ready(bootstrap: str, topic: str, work: Path, trace: Trace, label: str,
                   app_id: str) -> tuple[float, float, float, float, float]:
    """(start to ready, RSS indexed, RSS at ready, bulk read seconds, index seconds)."""
    worker = _worker(bootstrap, topic, "http://127.0.0.1:9", work, trace, label,
                     WRAPUP_APP_ID=app_id, WRAPUP_OUTCOMES_TOPIC=f"{app_id}.outcomes",
                     WRAPUP_DEAD_LETTER_TOPIC=f"{app_id}.dead-letter", WRAPUP_LOG_LEVEL="INFO")
    try:
        t0 = time.monotonic()
        worker.wait_ready(timeout=DEADLINE)
        seconds = time.monotonic() - t0
        assert worker.proc is not None
        idle = rss_mib(worker.proc.pid)
        wait_until(lambda: '"msg":"partitions indexed"' in worker.log_path.read_text(
            errors="replace"), 120, "the first tick's index")
        time.sleep(1)
        return (seconds, rss_mib(worker.proc.pid), idle,
                _logged_seconds(worker.log_path, "changelog read"),
                _logged_seconds(worker.log_path, "partitions indexed"))
    finally:
        worker.stop(timeout=60)


def recovery(bootstrap: str, work: Path, trace: Trace, sizes: list[int],
             partitions: int = 4) -> list[Recovery]:
    """Seconds from start to ready for a changelog holding N states (one record per
    key: a compacted log), minus the same for an empty one."""
    topic = _topic(bootstrap, "bench-recovery", partitions)
    empty_id = f"wb-{uuid.uuid4().hex[:8]}"
    empty, _, idle, _, _ = _time_to_ready(bootstrap, topic, work, trace, "recover-empty",
                                          empty_id)
    out = []
    for n in sizes:
        app_id = f"wb-{uuid.uuid4().hex[:8]}"
        changelog = f"{app_id}-interactions-changelog"
        ensure_topics_sync(bootstrap, [TopicSpec(changelog, partitions, 1,
                                                 {"cleanup.policy": "compact"})],
                           security=kafka_security_from_env())
        asyncio.run(_load_changelog(bootstrap, changelog, _states(n, partitions)))
        seconds, rss, _, read, index = _time_to_ready(bootstrap, topic, work, trace,
                                                      f"recover-{n}", app_id)
        out.append(Recovery(n, empty, seconds, rss, idle, read, index))
    return out


# ---------------------------------------------------------------------- latency
@dataclass
class Latency:
    rate: float
    samples: list[float]

    def pct(self, q: float) -> float:
        if not self.samples:
            return float("nan")
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _paced(bootstrap: str, topic: str, rate: float, seconds: float,
                 prefix: str) -> dict[str, float]:
    """Interactions at ``rate``/s for ``seconds``: ended, then wrapping-up 20 ms later;
    returns when each wrapping-up was handed to the producer."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0,
                                **kafka_security_from_env().client_options())
    await producer.start()
    sent: dict[str, float] = {}
    try:
        n = max(1, int(rate * seconds))
        began = time.monotonic()
        pending = []
        for i in range(n):
            iid = f"{prefix}-{i:06d}"
            delay = began + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(await producer.send(topic, event("ended", iid), key=iid.encode()))
            pending.append(asyncio.ensure_future(_second(producer, topic, iid, sent)))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


async def _second(producer: AIOKafkaProducer, topic: str, iid: str,
                  sent: dict[str, float]) -> None:
    await asyncio.sleep(0.02)
    sent[iid] = time.time()
    await (await producer.send(topic, event("wrapping-up", iid), key=iid.encode()))


def latency(bootstrap: str, work: Path, trace: Trace, rates: list[tuple[float, float]],
            partitions: int = 4) -> list[Latency]:
    """Second event handed to the producer -> its POST arriving at the platform."""
    topic = _topic(bootstrap, "bench-latency", partitions)
    platform = TimedPlatform()
    platform.start()
    worker = _worker(bootstrap, topic, platform.base_url, work, trace, "latency")
    out = []
    try:
        worker.wait_ready(timeout=180)
        # Warm-up, not measured: the first POSTs open connections and run code paths
        # for the first time (hundreds of ms once, after every start).
        warm = asyncio.run(_paced(bootstrap, topic, 10, 3, "warm"))
        wait_until(lambda: all(i in platform.arrived for i in warm), 60, "warm-up POSTs")
        time.sleep(1)
        for rate, seconds in rates:
            prefix = f"lat{rate:g}"
            sent = asyncio.run(_paced(bootstrap, topic, rate, seconds, prefix))
            wait_until(lambda s=sent: all(i in platform.arrived for i in s), 60,  # type: ignore[misc]
                       f"every POST at {rate:g}/s")
            samples = []
            for iid, at in sent.items():
                ms = (platform.arrived[iid] - at) * 1000
                samples.append(ms)
                trace.latency.append((at - time.time() + time.monotonic() - trace.began,
                                      ms, f"{rate:g}/s"))
            out.append(Latency(rate, samples))
            time.sleep(1)
        return out
    finally:
        worker.stop(timeout=60)
        platform.stop()


def median(values: list[float]) -> float:
    return statistics.median(values)
