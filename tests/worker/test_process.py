"""The real worker on the real broker, posting to a real HTTP server on loopback."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from tests.conftest import TopicFactory
from tests.helpers import wait_for
from tests.worker.fixtures import (
    RecordingPlatform,
    WorkerProcess,
    event,
    produce,
    read_all,
    worker_env,
)

WorkerFactory = Callable[..., WorkerProcess]


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[WorkerFactory]:
    """``start_worker(env) -> WorkerProcess``, ready; every worker is stopped afterwards."""
    started: list[WorkerProcess] = []

    def start(env: dict[str, str], *, ready: bool = True) -> WorkerProcess:
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log").start()
        started.append(worker)
        if ready:
            worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.kill()


def outcomes(bootstrap: str, topic: str) -> dict[str, str]:
    """interaction ID -> last outcome in the outcomes topic."""
    return {
        r.key.decode(): orjson.loads(r.value)["outcome"] for r in read_all(bootstrap, topic)
    }


def test_posts_once_whatever_the_order_and_never_without_both_events(
    kafka_bootstrap: str, topic_factory: TopicFactory, platform: RecordingPlatform,
    start_worker: WorkerFactory, tmp_path: Path,
) -> None:
    topic = topic_factory(partitions=1)
    env = worker_env(kafka_bootstrap, topic, platform.base_url, tmp_path / "data")
    worker = start_worker(env)
    records = [
        (b"in-order", event("ended", "in-order")),
        (b"reversed", event("wrapping-up", "reversed")),
        (b"only-ended", event("ended", "only-ended")),
        (b"in-order", event("wrapping-up", "in-order")),
        (b"dup", event("wrapping-up", "dup")),
        (b"dup", event("ended", "dup")),
        (b"reversed", event("ended", "reversed")),
        (b"dup", event("ended", "dup")),
        (b"dup", event("wrapping-up", "dup")),
        (b"out-of-scope", event("ended", "out-of-scope", campaign="c-other", queue="q-x")),
        (b"out-of-scope", event("wrapping-up", "out-of-scope", campaign="c-other",
                                queue="q-x")),
        (b"billing", event("wrapping-up", "billing", campaign=None, queue="q-billing")),
        (b"billing", event("ended", "billing", campaign="c-any", queue="q-billing")),
        # A sentinel pair last: once it is applied, everything before it was processed.
        (b"sentinel", event("ended", "sentinel")),
        (b"sentinel", event("wrapping-up", "sentinel")),
    ]
    produce(kafka_bootstrap, topic, records)
    wait_for(lambda: "sentinel" in platform.posted_ids(), timeout=30, message="sentinel post")
    wait_for(lambda: len(outcomes(kafka_bootstrap, env["WRAPUP_OUTCOMES_TOPIC"])) >= 5,
             timeout=30, message="outcomes recorded")

    assert sorted(platform.posted_ids()) == ["billing", "dup", "in-order", "reversed",
                                             "sentinel"]
    codes = {iid: body["wrapupCode"]["id"] for iid, body in platform.posts}
    assert codes["billing"] == "wc-billing"
    assert codes["in-order"] == "wc-renewal"
    bodies = dict(platform.posts)
    assert bodies["in-order"] == {"wrapupCode": {"id": "wc-renewal", "label": "Renewal - auto"}}
    assert set(outcomes(kafka_bootstrap, env["WRAPUP_OUTCOMES_TOPIC"]).values()) == {"applied"}
    assert worker.metric("wrapup_pairs_completed_total") == 5
    assert worker.metric("wrapup_pending_interactions") in (0, 1)  # only-ended waits


def test_malformed_events_are_counted_dead_lettered_and_the_worker_keeps_going(
    kafka_bootstrap: str, topic_factory: TopicFactory, platform: RecordingPlatform,
    start_worker: WorkerFactory, tmp_path: Path,
) -> None:
    topic = topic_factory(partitions=2)
    env = worker_env(kafka_bootstrap, topic, platform.base_url, tmp_path / "data")
    worker = start_worker(env)
    bad = [
        (b"x", b"not json at all"),
        (b"x", b"[1, 2, 3]"),
        (b"x", orjson.dumps({"type": "interaction:ended", "timestamp": 1, "data": {}})),
        (b"x", orjson.dumps({"type": "interaction:exploded", "timestamp": 1,
                             "data": {"id": "x"}})),
        (b"../admin", event("ended", "../admin")),
        (b"big", b'{"pad": "' + b"x" * 70_000 + b'"}'),
    ]
    produce(kafka_bootstrap, topic, [*bad, (b"ok", event("ended", "ok")),
                                     (b"ok", event("wrapping-up", "ok"))])
    wait_for(lambda: "ok" in platform.posted_ids(), timeout=30, message="valid pair posted")
    wait_for(lambda: worker.metric("wrapup_events_rejected_total") == len(bad), timeout=15,
             message="rejections counted")
    assert worker.metric("wrapup_events_rejected_total", reason="not_json") == 1
    assert worker.metric("wrapup_events_rejected_total", reason="unsafe_id") == 1
    assert worker.metric("wrapup_events_rejected_total", reason="too_large") == 1
    dead = wait_for(lambda: read_all(kafka_bootstrap, env["WRAPUP_DEAD_LETTER_TOPIC"])
                    if len(read_all(kafka_bootstrap, env["WRAPUP_DEAD_LETTER_TOPIC"]))
                    >= len(bad) else None, timeout=15, message="dead letters")
    assert sorted(r.value for r in dead) == sorted(v for _, v in bad)
    reasons = {dict(r.headers)["wrapup-reason"].decode() for r in dead}
    assert {"not_json", "not_object", "missing_field", "unknown_type", "unsafe_id",
            "too_large"} <= reasons
    assert worker.proc is not None and worker.proc.poll() is None
    assert platform.posted_ids() == ["ok"]


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_state_survives_a_restart_and_late_duplicates_post_nothing(
    kafka_bootstrap: str, topic_factory: TopicFactory, platform: RecordingPlatform,
    start_worker: WorkerFactory, tmp_path: Path, how: str,
) -> None:
    topic = topic_factory(partitions=2)
    env = worker_env(kafka_bootstrap, topic, platform.base_url, tmp_path / "data")
    first = start_worker(env)
    produce(kafka_bootstrap, topic, [(b"half", event("ended", "half")),
                                     (b"done", event("ended", "done")),
                                     (b"done", event("wrapping-up", "done"))])
    wait_for(lambda: "done" in platform.posted_ids(), timeout=30, message="first post")
    wait_for(lambda: first.metric("wrapup_events_total", result="accepted") == 3, timeout=15,
             message="all three events processed")
    wait_for(lambda: outcomes(kafka_bootstrap, env["WRAPUP_OUTCOMES_TOPIC"]).get("done"),
             timeout=15, message="outcome of 'done' recorded")
    if how == "sigkill":
        first.kill()
    else:
        assert first.stop() == 0
    second = start_worker(env)
    produce(kafka_bootstrap, topic, [(b"half", event("wrapping-up", "half")),
                                     (b"done", event("ended", "done")),
                                     (b"done", event("wrapping-up", "done")),
                                     (b"z", event("ended", "z")),
                                     (b"z", event("wrapping-up", "z"))])
    wait_for(lambda: {"half", "z"} <= set(platform.posted_ids()), timeout=30,
             message="posts after restart")
    wait_for(lambda: second.metric("wrapup_join_decisions_total", reason="after_final") >= 2,
             timeout=15, message="late duplicates seen and swallowed")
    assert sorted(platform.posted_ids()) == ["done", "half", "z"]


def test_an_unkeyed_topic_is_re_keyed_and_pairs_across_partitions_post_once(
    kafka_bootstrap: str, topic_factory: TopicFactory, platform: RecordingPlatform,
    start_worker: WorkerFactory, tmp_path: Path,
) -> None:
    """WRAPUP_EVENTS_KEYED=false: a bridge that does not key by interaction ID puts an
    interaction's events in different partitions; the re-key agent brings them together."""
    topic = topic_factory(partitions=3)
    env = worker_env(kafka_bootstrap, topic, platform.base_url, tmp_path / "data",
                     WRAPUP_EVENTS_KEYED="false")
    worker = start_worker(env)
    ids = [f"u{i}" for i in range(6)]
    produce(kafka_bootstrap, topic, [(None, event("ended", iid)) for iid in ids], partition=0)
    produce(kafka_bootstrap, topic,
            [(b"not-the-id", event("wrapping-up", iid)) for iid in ids], partition=2)
    produce(kafka_bootstrap, topic, [(None, event("ended", "u0"))], partition=1)  # duplicate
    wait_for(lambda: len(platform.posted_ids()) >= len(ids), timeout=30,
             message="re-keyed pairs posted")
    wait_for(lambda: worker.metric("wrapup_pairs_completed_total") == len(ids), timeout=15,
             message="pairs counted")
    wait_for(lambda: len(outcomes(kafka_bootstrap, env["WRAPUP_OUTCOMES_TOPIC"])) == len(ids),
             timeout=30, message="outcomes recorded")
    assert sorted(platform.posted_ids()) == ids


@pytest.mark.parametrize("compression", ["none", "lz4", "zstd", "snappy"])
def test_kcat_produced_events_are_joined(
    kafka_bootstrap: str, topic_factory: TopicFactory, platform: RecordingPlatform,
    start_worker: WorkerFactory, tmp_path: Path, compression: str,
) -> None:
    """The wire format as written by a Kafka client none of us wrote (kcat), compressed
    the ways a platform bridge might compress it."""
    topic = topic_factory(partitions=3)
    env = worker_env(kafka_bootstrap, topic, platform.base_url, tmp_path / "data")
    start_worker(env)
    lines = []
    for iid in ("k1", "k2", "k3"):
        lines.append(f"{iid}|{event('wrapping-up', iid).decode()}")
        lines.append(f"{iid}|{event('ended', iid).decode()}")
    subprocess.run(
        ["kcat", "-b", kafka_bootstrap, "-P", "-t", topic, "-K", "|", "-z", compression],
        input="\n".join(lines).encode() + b"\n", check=True, timeout=30,
    )
    wait_for(lambda: len(platform.posted_ids()) >= 3, timeout=30, message="kcat pairs posted")
    assert sorted(platform.posted_ids()) == ["k1", "k2", "k3"]


def test_bad_config_stops_startup_with_one_line(tmp_path: Path) -> None:
    env = {"WRAPUP_POLICY_JSON": '{"rules": []}', "WRAPUP_WEB_PORT": "6066"}
    proc = subprocess.run(
        [*WorkerProcess.command(), "worker"], env={**_clean_env(), **env},
        capture_output=True, timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("wrapup: configuration error: WRAPUP_POLICY_JSON:")


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("WRAPUP_")}
