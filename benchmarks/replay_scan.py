"""Replay scan speed: ``wrapup replay``'s scan + plan next to a plain aiokafka read + parse.

Loads N platform events once into a fresh topic (kcat when installed, else aiokafka),
then, in one run on the same broker, alternates (median of ``--runs`` each):

* plain: an assign-only aiokafka consumer reads the topic's range (same fetch sizes)
  and parses every value with ``orjson.loads``;
* replay: the replay itself as a dry run (``streams.replay.run.replay``): metadata,
  offsets for ``--since``, the outcomes ledger, the bounded scan, every event folded
  through the join core. Its rate is events scanned / scan-and-plan seconds.

The events: interactions with ended + wrapping-up (either order), some wrapped by
their agent, some duplicated, 10% out of scope. Usage::

    .venv/bin/python benchmarks/replay_scan.py --events 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streams.config import Settings, kafka_security_from_env  # noqa: E402
from streams.dev.kafka import kafka_from_env  # noqa: E402
from streams.kafka.admin import TopicSpec, ensure_topics_sync  # noqa: E402
from streams.kafka.reader import FETCH_MAX_BYTES, PARTITION_FETCH_BYTES  # noqa: E402
from streams.replay.run import ReplayOptions, replay  # noqa: E402
from streams.replay.timespec import Window  # noqa: E402
from tests.worker.fixtures import DEFAULT_POLICY  # noqa: E402

DEADLINE_SECONDS = 600.0


def make_events(n: int, seed: int = 1) -> list[tuple[bytes, bytes]]:
    """About ``n`` events in interaction order (ended/wrapping-up pairs and extras)."""
    rng = random.Random(seed)
    out: list[tuple[bytes, bytes]] = []
    base = time.time() - 3600
    i = 0
    while len(out) < n:
        iid = f"bench-{i:08d}"
        key = iid.encode()
        campaign = "c-other" if i % 10 == 9 else "c-renewals"
        at = base + i * 0.003
        kinds = ["ended", "wrapping-up"] if rng.random() < 0.9 else ["wrapping-up", "ended"]
        if rng.random() < 0.2:
            kinds.append("wrapped")
        if rng.random() < 0.02:
            kinds.append(kinds[0])
        for j, kind in enumerate(kinds):
            data: dict[str, object] = {"id": iid, "campaignId": campaign, "queueId": "q-sales",
                                       "agentId": f"a-{i % 50}",
                                       "acwDeadline": round((at + 120) * 1000)}
            if kind == "wrapped":
                data["source"] = "agent"
                data["wrapupCode"] = {"id": "wc-sales-sale"}
            out.append((key, orjson.dumps({
                "id": f"{iid}-{j}", "type": f"interaction:{kind}",
                "timestamp": round((at + j * 0.5) * 1000), "data": data})))
        i += 1
    return out[:n]


def load_kcat(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]],
              workdir: Path) -> None:
    path = workdir / "events.txt"
    with path.open("wb") as f:
        for key, value in records:
            f.write(key + b"\t" + value + b"\n")
    with path.open("rb") as f:
        subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", topic, "-K", "\t", "-z", "none",
                        "-X", "linger.ms=50", "-X", "batch.size=1000000"],
                       stdin=f, check=True, timeout=DEADLINE_SECONDS)
    path.unlink()


async def load_aiokafka(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=20,
                                max_batch_size=512 * 1024,
                                **kafka_security_from_env().client_options())
    await producer.start()
    try:
        pending = []
        for key, value in records:
            pending.append(await producer.send(topic, value, key=key))
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def plain_read(bootstrap: str, topic: str, partitions: int) -> tuple[int, float]:
    """(records, seconds) for a plain assign-only consumer to read + parse the whole topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, fetch_max_bytes=FETCH_MAX_BYTES,
                                max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
                                fetch_max_wait_ms=100, check_crcs=False,
                                **kafka_security_from_env().client_options())
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        started = time.perf_counter()
        end = await consumer.end_offsets(tps)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen = 0
        todo = set(tps)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while todo and time.monotonic() < deadline:
            batches = await consumer.getmany(*todo, timeout_ms=500)
            for records in batches.values():
                for record in records:
                    orjson.loads(record.value)
                seen += len(records)
            for tp in list(todo):
                if await consumer.position(tp) >= end[tp]:
                    todo.discard(tp)
        if todo:
            raise RuntimeError(f"plain consumer read only {seen} records in time")
        return seen, time.perf_counter() - started
    finally:
        await consumer.stop()


async def replay_scan(settings: Settings, topic: str, since: float,
                      processes: int | None) -> tuple[int, float, float, int]:
    """(events, scan+plan seconds, whole dry run seconds, processes) of one dry run."""
    options = ReplayOptions(window=Window(since, None), topic=topic, lookback=0.0,
                            dry_run=True, processes=processes)
    started = time.perf_counter()
    summary = await replay(settings, options, echo=lambda _line: None)
    return (summary.events_scanned, summary.scan_seconds, time.perf_counter() - started,
            summary.processes)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--loader", choices=("auto", "kcat", "aiokafka"), default="auto")
    parser.add_argument("--processes", default="auto",
                        help="replay scan processes, N or auto (default: auto, the replay's)")
    args = parser.parse_args()
    if not 1000 <= args.events <= 5_000_000 or not 1 <= args.runs <= 10:
        parser.error("--events must be within 1,000..5,000,000 and --runs within 1..10")
    with kafka_from_env() as bootstrap, tempfile.TemporaryDirectory() as tmp:
        topic = f"bench-replay-{uuid.uuid4().hex[:8]}"
        ensure_topics_sync(bootstrap, [TopicSpec(topic, args.partitions)],
                           security=kafka_security_from_env())
        since = time.time() - 1.0  # record times are the load time: all inside the window
        records = make_events(args.events)
        started = time.perf_counter()
        # kcat would need the credentials on its command line: aiokafka on a secured cluster.
        plaintext = kafka_security_from_env().protocol == "PLAINTEXT"
        use_kcat = plaintext and (args.loader == "kcat"
                                  or (args.loader == "auto" and shutil.which("kcat")))
        if use_kcat:
            load_kcat(bootstrap, topic, records, Path(tmp))
        else:
            asyncio.run(load_aiokafka(bootstrap, topic, records))
        n = len(records)
        del records
        print(f"loaded {n:,} events into {topic} ({args.partitions} partitions) with "
              f"{'kcat' if use_kcat else 'aiokafka'} in {time.perf_counter() - started:.1f}s")
        settings = Settings.from_env({
            **{k: v for k, v in os.environ.items() if k.startswith("WRAPUP_KAFKA_")},
            "WRAPUP_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "WRAPUP_EVENTS_TOPIC": topic,
            "WRAPUP_OUTCOMES_TOPIC": f"{topic}.outcomes",  # absent: an empty ledger
            "WRAPUP_POLICY_JSON": orjson.dumps(DEFAULT_POLICY).decode(),
            "WRAPUP_LOG_LEVEL": "WARNING",
        })
        processes = None if args.processes == "auto" else int(args.processes)
        plain: list[float] = []
        scans: list[float] = []
        wholes: list[float] = []
        for run in range(args.runs):
            count, seconds = asyncio.run(plain_read(bootstrap, topic, args.partitions))
            assert count == n, (count, n)
            plain.append(n / seconds)
            events, scan_s, whole_s, procs = asyncio.run(
                replay_scan(settings, topic, since, processes))
            assert events == n, (events, n)
            scans.append(n / scan_s)
            wholes.append(n / whole_s)
            print(f"run {run + 1}: plain {plain[-1]:,.0f}/s, replay scan+plan "
                  f"{scans[-1]:,.0f}/s in {procs} process(es) "
                  f"(whole dry run {wholes[-1]:,.0f}/s)", flush=True)
        ref, rate, whole = (statistics.median(x) for x in (plain, scans, wholes))
        print()
        print(f"{'measure (median of ' + str(args.runs) + ')':<48}{'events/s':>12}")
        print(f"{'plain aiokafka read + orjson parse':<48}{ref:>12,.0f}")
        print(f"{'replay scan + plan (join core, dry run)':<48}{rate:>12,.0f}")
        print(f"{'replay dry run end to end (ledger, offsets...)':<48}{whole:>12,.0f}")
        print(f"{'ratio replay / plain':<48}{rate / ref:>12.3f}")
        print(f"(goal: replay >= 100,000 events/s; {n:,} events, {args.partitions} "
              f"partitions, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
