"""Events/s through the worker's join, next to a plain aiokafka read+parse of the same topic.

Loads N platform events (pairs of ended + wrapping-up, keyed by interaction ID) into a
fresh topic, then, in one run on the same broker:

* reference: a plain aiokafka consumer reads the topic from the start and parses every
  value with orjson (median of ``--reference-runs`` runs);
* worker: ``wrapup worker`` (a subprocess, exactly as deployed) catches up on the same
  topic from the start; its rate is read from its own ``wrapup_events_total`` counter.

Deliveries are throttled (WRAPUP_API_RATE_LIMIT=1) so the figure is the join's — parse,
table read/write, changelog, decisions — not the platform API's (which a real platform
caps at a few requests/s anyway). Usage::

    .venv/bin/python benchmarks/throughput.py --events 200000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streams.config import kafka_security_from_env  # noqa: E402
from streams.dev.kafka import kafka_from_env  # noqa: E402
from streams.kafka.admin import TopicSpec, ensure_topics_sync  # noqa: E402
from tests.worker.fixtures import RecordingPlatform, WorkerProcess, worker_env  # noqa: E402

DEADLINE_SECONDS = 900.0


def make_events(n: int) -> list[tuple[bytes, bytes]]:
    """``n`` events: n/2 interactions, each ended + wrapping-up, in alternating order."""
    out: list[tuple[bytes, bytes]] = []
    base = time.time() - 60
    for i in range(n // 2):
        iid = f"bench-{i:08d}"
        key = iid.encode()
        first, second = ("ended", "wrapping-up") if i % 2 else ("wrapping-up", "ended")
        for j, kind in enumerate((first, second)):
            out.append((key, orjson.dumps({
                "id": f"{iid}-{j}", "type": f"interaction:{kind}",
                "timestamp": round((base + i * 0.001 + j * 0.5) * 1000),
                "data": {"id": iid, "campaignId": "c-renewals", "queueId": "q-sales",
                         "agentId": f"a-{i % 50}"},
            })))
    return out


async def load(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=20,
                                max_batch_size=512 * 1024,
                                **kafka_security_from_env().client_options())
    await producer.start()
    started = time.perf_counter()
    try:
        batch = []
        for key, value in records:
            batch.append(await producer.send(topic, value, key=key))
            if len(batch) >= 10_000:
                await asyncio.gather(*batch)
                batch.clear()
        await asyncio.gather(*batch)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def plain_read(bootstrap: str, topic: str, n: int) -> float:
    """Seconds for a plain consumer to read and parse ``n`` records from the start."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                max_partition_fetch_bytes=4 * 1024 * 1024,
                                **kafka_security_from_env().client_options())
    await consumer.start()
    try:
        seen = 0
        started: float | None = None
        deadline = time.monotonic() + DEADLINE_SECONDS
        while seen < n and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            if started is None and batches:
                started = time.perf_counter()
            for records in batches.values():
                for record in records:
                    orjson.loads(record.value)
                    seen += 1
        if seen < n or started is None:
            raise RuntimeError(f"plain consumer read only {seen}/{n}")
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def worker_rate(bootstrap: str, topic: str, n: int, workdir: Path) -> tuple[float, float]:
    """(events/s, seconds) for the worker to consume ``n`` events, from its own counter."""
    platform = RecordingPlatform()
    platform.start()
    env = worker_env(bootstrap, topic, platform.base_url, workdir / "data",
                     WRAPUP_API_RATE_LIMIT="1", WRAPUP_LOG_LEVEL="WARNING",
                     WRAPUP_TICK_INTERVAL_SECONDS="5")
    worker = WorkerProcess(env, workdir / "worker.log").start()
    try:
        worker.wait_ready(timeout=120)
        first: tuple[float, float] | None = None
        deadline = time.monotonic() + DEADLINE_SECONDS
        count = 0.0
        while time.monotonic() < deadline:
            count = worker.metric("wrapup_events_total")
            now = time.perf_counter()
            if first is None and count > 0:
                first = (now, count)
            if count >= n:
                break
            time.sleep(0.25)
        if first is None or count < n:
            raise RuntimeError(f"worker consumed {count}/{n}\n{worker.log_tail()}")
        seconds = time.perf_counter() - first[0]
        return (count - first[1]) / seconds, seconds
    finally:
        worker.stop(timeout=30)
        platform.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--reference-runs", type=int, default=3)
    args = parser.parse_args()
    if args.events < 2 or args.events > 5_000_000:
        parser.error("--events must be between 2 and 5,000,000")
    with kafka_from_env() as bootstrap, tempfile.TemporaryDirectory() as tmp:
        topic = f"bench-throughput-{uuid.uuid4().hex[:8]}"
        ensure_topics_sync(bootstrap, [TopicSpec(topic, args.partitions)],
                           security=kafka_security_from_env())
        records = make_events(args.events)
        load_s = asyncio.run(load(bootstrap, topic, records))
        n = len(records)
        print(f"loaded {n:,} events into {topic} ({args.partitions} partitions) "
              f"in {load_s:.1f}s")
        plain = [n / asyncio.run(plain_read(bootstrap, topic, n))
                 for _ in range(args.reference_runs)]
        reference = statistics.median(plain)
        rate, seconds = worker_rate(bootstrap, topic, n, Path(tmp))
        print()
        print(f"{'measure':<44}{'events/s':>12}")
        print(f"{'plain aiokafka read + orjson parse (median)':<44}{reference:>12,.0f}")
        print(f"{'wrapup worker (join, table, changelog)':<44}{rate:>12,.0f}")
        print(f"{'ratio worker / plain':<44}{rate / reference:>12.3f}")
        print(f"(plain runs: {', '.join(f'{r:,.0f}' for r in plain)}; worker took "
              f"{seconds:.1f}s for {n:,} events; goal: ratio >= 0.5)")


if __name__ == "__main__":
    main()
