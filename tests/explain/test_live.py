"""``wrapup explain`` on the real broker, after the real worker (a subprocess) ran."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aiohttp import web

from streams.explain.partitioner import partition_for
from tests.helpers import REPO, wait_for
from tests.worker.fixtures import RecordingPlatform, WorkerProcess, event, produce, worker_env


class RefusingPlatform(RecordingPlatform):
    """Answers 400 (a permanent failure) to wrap-ups of interactions named ``fail-*``."""

    async def _post(self, request: web.Request) -> web.Response:
        if request.match_info["iid"].startswith("fail-"):
            return web.json_response({"message": "invalid wrap-up code"}, status=400)
        return await super()._post(request)


def explain(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WorkerProcess.command(), "explain", *args], cwd=REPO,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=60)


def explain_json(env: dict[str, str], iid: str) -> dict[str, Any]:
    done = explain(env, iid, "--json")
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = orjson.loads(done.stdout)
    return doc


@pytest.fixture(scope="module")
def ran(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[tuple[dict[str, str], RecordingPlatform]]:
    """One worker run over applied, skipped, out-of-scope, expired, malformed and failing
    interactions; yields the environment (for explain) once every outcome is recorded."""
    from streams.kafka.admin import TopicSpec, ensure_topics_sync

    tmp = tmp_path_factory.mktemp("explain")
    topic = f"explain-{os.getpid()}-{tmp.name}"
    ensure_topics_sync(kafka_bootstrap, [TopicSpec(topic, 3)])
    api = RefusingPlatform()
    api.start()
    env = worker_env(kafka_bootstrap, topic, api.base_url, tmp / "data",
                     WRAPUP_PENDING_TTL_SECONDS="3")
    worker = WorkerProcess(env, tmp / "worker.log").start()
    try:
        worker.wait_ready()
        produce(kafka_bootstrap, topic, [
            (b"applied-1", event("ended", "applied-1")),
            (b"applied-1", event("wrapping-up", "applied-1")),
            (b"skipped-1", event("ended", "skipped-1")),
            (b"skipped-1", event("wrapped", "skipped-1", source="agent")),
            (b"oos-1", event("ended", "oos-1", campaign="c-other", queue="q-x")),
            (b"oos-1", event("wrapping-up", "oos-1", campaign="c-other", queue="q-x")),
            (b"expired-1", event("ended", "expired-1")),
            (b"bad-1", b'{"id": "e", "type": "interaction:ended", "data": {"id": "bad-1"'),
            (b"fail-1", event("ended", "fail-1")),
            (b"fail-1", event("wrapping-up", "fail-1")),
        ])
        wait_for(lambda: worker.metric("wrapup_outcomes_total") >= 4, timeout=30,
                 message="applied, skipped, failed and expired outcomes")
        wait_for(lambda: worker.metric("wrapup_dead_letters_total") >= 2, timeout=10,
                 message="two dead letters")
        yield env, api
    finally:
        worker.kill()
        api.stop()


def test_applied_shows_the_rule_the_call_and_the_outcome(ran: tuple[dict[str, str],
                                                                    RecordingPlatform]) -> None:
    env, _ = ran
    doc = explain_json(env, "applied-1")
    kinds = [e["kind"] for e in doc["timeline"]]
    assert kinds[:2] == ["event", "event"] and "api" in kinds and "outcome" in kinds
    post = doc["timeline"][1]
    assert (post["action"], post["reason"], post["code"]) == ("post", "paired", "wc-renewal")
    assert "rule campaign c-renewals -> wc-renewal" in post["text"]
    api = next(e for e in doc["timeline"] if e["kind"] == "api")
    assert (api["attempts"], api["last_status"]) == (1, 200)
    assert doc["final"]["outcome"] == "applied"
    text = explain(env, "applied-1").stdout
    assert "final: applied" in text and "wrapping-up (campaign c-renewals" in text


def test_skipped_says_the_agent_wrapped_it(ran: tuple[dict[str, str],
                                                      RecordingPlatform]) -> None:
    doc = explain_json(ran[0], "skipped-1")
    assert doc["timeline"][1]["reason"] == "wrapped_by_agent"
    assert (doc["final"]["outcome"], doc["final"]["reason"]) == ("skipped", "wrapped_by_agent")
    assert "agent wrapped it up first" in doc["final"]["text"]


def test_out_of_scope_says_no_rule_matches(ran: tuple[dict[str, str],
                                                      RecordingPlatform]) -> None:
    doc = explain_json(ran[0], "oos-1")
    assert [e["reason"] for e in doc["timeline"]] == ["out_of_scope", "out_of_scope"]
    assert "no rule for campaign c-other / queue q-x" in doc["timeline"][0]["text"]
    assert doc["final"]["outcome"] == "out_of_scope"


def test_expired_says_what_was_missing(ran: tuple[dict[str, str], RecordingPlatform]) -> None:
    doc = explain_json(ran[0], "expired-1")
    assert (doc["final"]["outcome"], doc["final"]["reason"]) == ("expired",
                                                                 "missing_wrapping_up")
    assert doc["timeline"][0]["reason"] == "waiting"
    state = [e for e in doc["timeline"] if e["kind"] == "state"]
    assert state and state[0]["state"]["outcome"] == "expired"


def test_a_malformed_event_is_shown_as_dead_lettered(ran: tuple[dict[str, str],
                                                                RecordingPlatform]) -> None:
    doc = explain_json(ran[0], "bad-1")
    kinds = {e["kind"] for e in doc["timeline"]}
    assert {"rejected", "dead-letter"} <= kinds
    dead = next(e for e in doc["timeline"] if e["kind"] == "dead-letter")
    assert (dead["letter"], dead["reason"]) == ("event", "not_json")
    assert doc["final"]["outcome"] == "dead_lettered"


def test_a_permanent_delivery_failure_shows_the_answer_and_the_dead_letter(
        ran: tuple[dict[str, str], RecordingPlatform]) -> None:
    doc = explain_json(ran[0], "fail-1")
    api = next(e for e in doc["timeline"] if e["kind"] == "api")
    assert api["last_status"] == 400
    dead = next(e for e in doc["timeline"] if e["kind"] == "dead-letter")
    assert (dead["letter"], dead["detail"]) == ("delivery", "last status 400")
    assert doc["final"]["outcome"] == "failed"


def test_unknown_id_and_empty_window_are_one_line_errors(
        ran: tuple[dict[str, str], RecordingPlatform]) -> None:
    env, _ = ran
    # An ID on a partition that has records (applied-1's), so the window is not empty.
    iid = next(f"never-seen-{n}" for n in range(100)
               if partition_for(f"never-seen-{n}".encode(), 3) == partition_for(b"applied-1", 3))
    unknown = explain(env, iid)
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr.startswith(f"wrapup: explain: unknown interaction {iid!r}")
    assert len(unknown.stderr.strip().splitlines()) == 1
    empty = explain(env, iid, "--since", "2020-01-01T00:00:00Z",
                    "--until", "2020-01-02T00:00:00Z")
    assert empty.returncode == 2
    assert empty.stderr.startswith("wrapup: explain: nothing in the window")
