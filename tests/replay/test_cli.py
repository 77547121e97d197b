"""``wrapup replay`` as an operator runs it: real broker, real HTTP platform on loopback."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.outcomes import DeliveryReport, Outcome
from tests.conftest import TopicFactory
from tests.worker.fixtures import (
    RecordingPlatform,
    WorkerProcess,
    event,
    free_port,
    produce,
    read_all,
    worker_env,
)


def replay(env: dict[str, str], *args: str,
           timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """``wrapup replay ARGS`` with only ``env``'s WRAPUP_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WRAPUP_")}
    return subprocess.run([*WorkerProcess.command(), "replay", *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=timeout, check=False)


def summary(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc: dict[str, Any] = orjson.loads(proc.stdout.strip().splitlines()[-1])
    return doc


def publish_outcome(bootstrap: str, topic: str, report: DeliveryReport, partition: int) -> None:
    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topic, report.encode(),
                                         key=report.interaction_id.encode(), partition=partition)
        finally:
            await producer.stop()
    asyncio.run(run())


def test_replay_posts_only_what_is_missing_records_it_and_a_second_run_posts_nothing(
    kafka_bootstrap: str, topic_factory: TopicFactory, platform: RecordingPlatform,
    tmp_path: Path,
) -> None:
    topic = topic_factory(partitions=2)
    env = worker_env(kafka_bootstrap, topic, platform.base_url, tmp_path / "data")
    outcomes = env["WRAPUP_OUTCOMES_TOPIC"]
    topic_factory(partitions=2, compact=True, name=outcomes)
    agent: dict[str, Any] = {"source": "agent", "wrapupCode": {"id": "wc-sales-sale"}}
    records: list[tuple[bytes | None, bytes]] = []
    for iid in ("missing-1", "missing-2", "in-ledger", "on-platform", "agent", "half", "oos"):
        campaign = "c-other" if iid == "oos" else "c-renewals"
        records.append((iid.encode(), event("ended", iid, campaign=campaign)))
        if iid != "half":
            records.append((iid.encode(), event("wrapping-up", iid, campaign=campaign)))
    records.append((b"agent", event("wrapped", "agent", **agent)))
    records.append((b"junk", b"not json"))
    produce(kafka_bootstrap, topic, records, partition=1)
    publish_outcome(kafka_bootstrap, outcomes,
                    DeliveryReport("in-ledger", Outcome.APPLIED, "posted"), partition=1)
    httpx.post(f"{platform.base_url}/api/v2/conversations/interactions/on-platform/wrapup",
               json={"wrapupCode": {"id": "wc-renewal", "label": "Renewal - auto"}}, timeout=5)
    assert platform.posted_ids() == ["on-platform"]

    dry = replay(env, "--since", "-10m", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    would = sorted(line.split()[2] for line in dry.stdout.splitlines()
                   if line.startswith("would post ") and "code=" in line)
    assert would == ["missing-1", "missing-2", "on-platform"]
    assert "would post" in dry.stdout.split("(dry run)")[1]  # the summary table follows
    assert platform.posted_ids() == ["on-platform"] and platform.gets == []
    assert len(read_all(kafka_bootstrap, outcomes)) == 1  # a dry run publishes nothing

    first = summary(replay(env, "--since", "-10m", "--json"))
    assert (first["events_scanned"], first["pairs_found"], first["posted"],
            first["already_done"], first["skipped"], first["failed"]) == (15, 5, 2, 2, 1, 0)
    assert first["already_done_by_reason"] == {"ledger_applied": 1, "readback_same_code": 1}
    assert first["skipped_by_reason"] == {"wrapped_by_agent": 1}
    assert first["events_rejected"] == {"not_json": 1}
    assert first["unpaired_by_reason"] == {"missing_wrapping_up": 1}
    assert sorted(platform.posted_ids()) == ["missing-1", "missing-2", "on-platform"]
    bodies = {iid: body for iid, body in platform.posts}
    assert bodies["missing-1"] == {"wrapupCode": {"id": "wc-renewal", "label": "Renewal - auto"}}

    recorded = {r.key.decode(): (r.partition, orjson.loads(r.value))
                for r in read_all(kafka_bootstrap, outcomes)}
    for iid, outcome in (("missing-1", "applied"), ("missing-2", "applied"),
                         ("on-platform", "already_applied"), ("agent", "skipped")):
        partition, doc = recorded[iid]
        assert (partition, doc["outcome"], doc["source"]) == (1, outcome, "replay"), iid
    assert set(recorded) == {"missing-1", "missing-2", "on-platform", "agent", "in-ledger"}

    gets_before = len(platform.gets)
    second = summary(replay(env, "--since", "-10m", "--json"))
    assert (second["pairs_found"], second["posted"], second["already_done"],
            second["skipped"]) == (5, 0, 4, 1)
    assert second["skipped_by_reason"] == {"ledger_wrapped_by_agent": 1}
    assert sorted(platform.posted_ids()) == ["missing-1", "missing-2", "on-platform"]
    assert platform.gets[gets_before:] == ["wrapup-replay-probe"]  # no read-backs needed


@pytest.mark.parametrize("case", ["unknown_topic", "future", "until_before_since",
                                  "bad_processes", "broker_down", "api_down"])
def test_bad_input_gives_one_error_line_a_non_zero_exit_and_posts_nothing(
    kafka_bootstrap: str, topic_factory: TopicFactory, platform: RecordingPlatform,
    tmp_path: Path, case: str,
) -> None:
    topic = topic_factory(partitions=1)
    produce(kafka_bootstrap, topic, [(b"p", event("ended", "p")),
                                     (b"p", event("wrapping-up", "p"))])
    env = worker_env(kafka_bootstrap, topic, platform.base_url, tmp_path / "data")
    args = ["--since", "-10m"]
    expected = {
        "unknown_topic": "topic 'no-such-topic' does not exist",
        "future": "--since",
        "until_before_since": "is not after --since",
        "bad_processes": "--processes 'many' is not 1..64 or auto",
        "broker_down": "cannot reach Kafka at 127.0.0.1:",
        "api_down": "cannot reach the API at http://127.0.0.1:",
    }[case]
    if case == "unknown_topic":
        args += ["--topic", "no-such-topic"]
    elif case == "future":
        args = ["--since", "+1h"]
    elif case == "until_before_since":
        args += ["--until", "-20m"]
    elif case == "bad_processes":
        args += ["--processes", "many"]
    elif case == "broker_down":
        env["WRAPUP_KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{free_port()}"
    else:
        env["WRAPUP_API_BASE_URL"] = f"http://127.0.0.1:{free_port()}"
    proc = replay(env, *args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("wrapup: replay: ") and expected in lines[0], lines[0]
    assert proc.stdout == ""
    assert platform.posted_ids() == []


def test_a_scan_split_over_processes_plans_exactly_what_one_process_plans(
    kafka_bootstrap: str, topic_factory: TopicFactory, platform: RecordingPlatform,
    tmp_path: Path,
) -> None:
    topic = topic_factory(partitions=3)
    env = worker_env(kafka_bootstrap, topic, platform.base_url, tmp_path / "data")
    for p in range(3):
        records: list[tuple[bytes | None, bytes]] = []
        for i in range(20):
            iid = f"p{p}-{i}"
            records.append((iid.encode(), event("ended", iid)))
            if i % 4:
                records.append((iid.encode(), event("wrapping-up", iid)))
        produce(kafka_bootstrap, topic, records, partition=p)
    one = summary(replay(env, "--since", "-10m", "--dry-run", "--json", "--processes", "1"))
    three = summary(replay(env, "--since", "-10m", "--dry-run", "--json", "--processes", "3"))
    assert (one["scan_processes"], three["scan_processes"]) == (1, 3)
    timing = {"scan_seconds", "events_per_second", "deliver_seconds", "scan_processes",
              "since", "scan_from"}
    assert {k: v for k, v in one.items() if k not in timing} == {
        k: v for k, v in three.items() if k not in timing}
    assert (three["events_scanned"], three["would_post"]) == (105, 45)
    assert three["unpaired_by_reason"] == {"missing_wrapping_up": 15}
    assert platform.posted_ids() == []
