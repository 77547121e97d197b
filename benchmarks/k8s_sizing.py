"""Measure what k8s/README.md's "Sizing" states: a worker's memory, CPU, shutdown and recovery.

Runs ``wrapup worker`` exactly as deployed (a subprocess) against a local Kafka and a
loopback platform that accepts every wrap-up, and samples the process's RSS and CPU
time from /proc:

1. idle: started on an empty topic, ready, no table;
2. load: N interactions (ended + wrapping-up each, all in scope) are published while
   the worker joins them and posts N wrap-ups; peak RSS, CPU cores, events/s;
3. held: RSS with N interactions in the table (finished, kept for late duplicates);
4. shutdown: seconds from SIGTERM to exit (vs terminationGracePeriodSeconds);
5. recovery: a second worker with a fresh data directory (memory store, as in the pod)
   rebuilds the table from the changelog: seconds to /readyz 200, RSS after.

Every wait is bounded. Usage::

    .venv/bin/python benchmarks/k8s_sizing.py --interactions 20000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aiokafka import AIOKafkaProducer  # noqa: E402

from streams.config import kafka_security_from_env  # noqa: E402
from streams.dev.kafka import kafka_from_env  # noqa: E402
from streams.kafka.admin import TopicSpec, ensure_topics_sync  # noqa: E402
from tests.worker.fixtures import RecordingPlatform, WorkerProcess, event, worker_env  # noqa: E402

DEADLINE_SECONDS = 900.0
TICKS = os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


@dataclass
class Sampler:
    """Samples a process's RSS every ``interval`` seconds in a thread."""

    pid: int
    interval: float = 0.25
    peak: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_mib(self.pid))
            except (FileNotFoundError, ProcessLookupError, RuntimeError):
                return
            self._stop.wait(self.interval)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    """Publish in batches of 5,000 unacknowledged sends (the harness's one-by-one
    ``send_and_wait`` would make the producer, not the worker, the bottleneck)."""
    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                                    **kafka_security_from_env().client_options())
        await producer.start()
        try:
            for start in range(0, len(records), 5_000):
                sent = [await producer.send(topic, value, key=key)
                        for key, value in records[start:start + 5_000]]
                await asyncio.gather(*sent)
        finally:
            await producer.stop()
    asyncio.run(run())


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:.0f}s")
        time.sleep(0.25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=20_000)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    if not 1 <= args.interactions <= 500_000:
        parser.error("--interactions must be between 1 and 500,000")
    n = args.interactions
    results: list[tuple[str, str]] = []
    with kafka_from_env() as bootstrap, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        topic = f"sizing-{uuid.uuid4().hex[:8]}"
        ensure_topics_sync(bootstrap, [TopicSpec(topic, args.partitions)],
                           security=kafka_security_from_env())
        platform = RecordingPlatform()
        platform.start()
        env = worker_env(bootstrap, topic, platform.base_url, work / "data1",
                         WRAPUP_API_RATE_LIMIT="2000", WRAPUP_LOG_LEVEL="WARNING",
                         WRAPUP_TICK_INTERVAL_SECONDS="5",
                         WRAPUP_KAFKA_SESSION_TIMEOUT_SECONDS="10")
        worker = WorkerProcess(env, work / "worker1.log").start()
        second: WorkerProcess | None = None
        try:
            assert worker.proc is not None
            pid = worker.proc.pid
            started = time.monotonic()
            worker.wait_ready(timeout=180)
            results.append(("start to ready, empty topic", f"{time.monotonic() - started:.1f} s"))
            time.sleep(2)
            results.append(("RSS idle (ready, empty table)", f"{rss_mib(pid):.0f} MiB"))

            base = time.time() - 30
            records = []
            for i in range(n):
                iid = f"size-{i:07d}"
                records.append((iid.encode(), event("ended", iid, ts=base + i * 1e-4)))
                records.append((iid.encode(), event("wrapping-up", iid, ts=base + i * 1e-4)))
            cpu0, t0 = cpu_seconds(pid), time.monotonic()
            with Sampler(pid) as sampler:
                loader = threading.Thread(target=produce, args=(bootstrap, topic, records))
                loader.start()
                wait_until(lambda: len(platform.posts) >= n, DEADLINE_SECONDS,
                           f"{n} wrap-ups posted")
                loader.join(60)
            seconds = time.monotonic() - t0
            cores = (cpu_seconds(pid) - cpu0) / seconds
            results += [
                (f"load: {2 * n:,} events, {n:,} wrap-ups posted", f"{seconds:.1f} s"),
                ("load: events/s", f"{2 * n / seconds:,.0f}"),
                ("load: wrap-ups/s", f"{n / seconds:,.0f}"),
                ("load: CPU (cores, mean)", f"{cores:.2f}"),
                ("load: peak RSS", f"{sampler.peak:.0f} MiB"),
            ]
            time.sleep(3)
            held = rss_mib(pid)
            results.append((f"RSS holding {n:,} finished interactions", f"{held:.0f} MiB"))

            t0 = time.monotonic()
            code = worker.stop(timeout=120)
            results.append(("SIGTERM to exit", f"{time.monotonic() - t0:.1f} s (exit {code})"))

            env2 = {**env, "WRAPUP_DATA_DIR": str(work / "data2")}
            second = WorkerProcess(env2, work / "worker2.log").start()
            assert second.proc is not None
            t0 = time.monotonic()
            with Sampler(second.proc.pid) as sampler2:
                second.wait_ready(timeout=600)
                recovered = time.monotonic() - t0
            time.sleep(2)
            results += [
                (f"recovery of {n:,} interactions: start to ready", f"{recovered:.1f} s"),
                ("recovery: peak RSS", f"{sampler2.peak:.0f} MiB"),
                ("RSS after recovery", f"{rss_mib(second.proc.pid):.0f} MiB"),
                ("wrap-ups re-posted after recovery", f"{len(platform.posts) - n}"),
            ]
        finally:
            worker.stop(timeout=60)
            if second is not None:
                second.stop(timeout=60)
            platform.stop()
    width = max(len(k) for k, _ in results)
    print(f"\n{'measure':<{width}}  value")
    for key, value in results:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
