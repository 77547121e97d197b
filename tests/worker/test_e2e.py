"""Issue 4 end to end: the real worker on the real broker against the simulated platform.

Every run plays a seeded workload of >= 1,000 interactions through the simulator's event
bridge (time compressed 20x: transition median 50 ms, 150 interactions/s) and judges the
result by the simulator's ledger (see :func:`tests.worker.simulated.judge`): each
eligible interaction wrapped exactly once, by us unless the agent or the platform did it
first, nothing of ours on any other interaction, and no POST after ours was applied.
"""

from __future__ import annotations

import base64
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from streams.dev.simulator.chaos import Chaos
from streams.dev.simulator.platform import AuthConfig, Platform
from streams.dev.simulator.workload import Workload
from streams.policy import Policy
from tests.conftest import TopicFactory
from tests.helpers import wait_for
from tests.worker.fixtures import Start, WorkerProcess, free_port, worker_env
from tests.worker.simulated import (
    PERMANENT_REASONS,
    Expectation,
    Simulator,
    Tail,
    Verdict,
    make_workload,
    percentiles,
)
from tests.worker.simulated import settle as settle_all

SETTLE_TIMEOUT = 90.0
BOGUS_RULE = {"campaign": "c-survey", "queue": "q-support",
              "code": {"id": "wc-survey-bogus", "label": "Not a platform code"}}

def policy_doc(workload: Workload, *extra: dict[str, Any]) -> dict[str, Any]:
    doc = workload.scenario.policy_document()
    return {"rules": [*doc["rules"], *extra]}  # type: ignore[misc]


def sim_env(bootstrap: str, topic: str, sim: Simulator, data_dir: Path,
            policy: dict[str, Any], **overrides: str) -> dict[str, str]:
    return worker_env(bootstrap, topic, sim.base_url, data_dir, **{
        "WRAPUP_POLICY_JSON": orjson.dumps(policy).decode(),
        "WRAPUP_API_RATE_LIMIT": "500",
        "WRAPUP_API_TIMEOUT_SECONDS": "2",
        **overrides,
    })


def settle(sim: Simulator, expect: Expectation, outcomes: Tail,
           workers: list[WorkerProcess]) -> Verdict:
    """Wait until every eligible leg is wrapped and has an outcome; judge (no violation)."""
    return settle_all(sim, expect, outcomes, workers, timeout=SETTLE_TIMEOUT)


def test_sigkilled_at_three_points_every_eligible_interaction_is_applied_once(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    """Killed in steady intake, while draining the backlog after a restart, and while
    resuming (reading back) the deliveries that kill interrupted: still exactly once,
    and no POST after an applied wrap-up."""
    began = time.monotonic()
    topic = topic_factory(partitions=2)
    workload = make_workload(1000, agent_pick_probability=0.1, lost_fraction=0.02,
                             duplicate_fraction=0.05)
    # 50-250 ms of API latency keeps deliveries in flight at every kill.
    chaos = Chaos(latency_seconds=0.05, latency_jitter_seconds=0.2)
    policy = policy_doc(workload)
    expect = Expectation.of(workload, Policy.from_json(orjson.dumps(policy)))
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, chaos=chaos) as sim:
        env = sim_env(kafka_bootstrap, topic, sim, tmp_path / "data", policy)
        worker = start_worker(env)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        sim.start_bridge()
        kills: list[str] = []
        unfinished: set[str] = set()  # POSTed, but no outcome recorded when killed

        def kill_and_restart(phase: str) -> WorkerProcess:
            worker.kill()
            finished = set(outcomes.last_by_key())
            restarted = start_worker(env)
            posted = sim.call(lambda p: {r.interaction_id for r in p.ledger.posts()})
            unfinished.update(i for i in posted if i and i not in finished)
            kills.append(f"{phase}: posts={len(posted)} outcomes={len(finished)}")
            return restarted

        wait_for(lambda: sim.posts() >= 150, timeout=30, message="150 posts")
        worker = kill_and_restart("steady intake")
        target = int(0.55 * len(expect.eligible))
        wait_for(lambda: sim.posts() >= target, timeout=60, message=f"{target} posts")
        worker = kill_and_restart("draining the backlog")
        # Deliveries in flight at that kill are resumed (read back first) once the
        # outcomes backlog is processed; kill again right then.
        wait_for(lambda: "resumed deliveries" in worker.log_path.read_text(), timeout=90,
                 message="deliveries resumed")
        worker = kill_and_restart("resuming (read-back)")
        verdict = settle(sim, expect, outcomes, [worker])
        read_back = {k for k, r in outcomes.last_by_key().items()
                     if r["reason"] == "readback_same_code"}
    print("kills:", *kills, sep="\n  ")
    print(f"runtime {time.monotonic() - began:.1f}s; resumed and read back: {len(read_back)} "
          f"of {len(unfinished)} unfinished at a kill")
    # Deliveries resumed after a kill read back before posting; the verdict above proved
    # none of them posted after an applied wrap-up. Ideally only the ones unfinished at a
    # kill are read back; on a loaded machine some finished ones are too (their outcome
    # not yet folded when the next worker resumes) — harmless, reported, not asserted.
    extra = read_back - unfinished
    print(f"read back although finished at the kill: {len(extra)}")
    assert verdict.applied_by_us >= 0.8 * verdict.eligible
    assert verdict.wrapped_first_by.get("platform", 0) == 0  # never as late as the ACW end
    assert verdict.outcomes.get("already_applied/readback_same_code", 0) > 0  # resumed


def test_two_workers_in_one_group_one_killed_mid_run_the_other_takes_over(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    began = time.monotonic()
    topic = topic_factory(partitions=4)
    workload = make_workload(1000, seed=8, agent_pick_probability=0.1, lost_fraction=0.02,
                             duplicate_fraction=0.05)
    chaos = Chaos(latency_seconds=0.05, latency_jitter_seconds=0.2)
    policy = policy_doc(workload)
    expect = Expectation.of(workload, Policy.from_json(orjson.dumps(policy)))
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, chaos=chaos) as sim:
        env_a = sim_env(kafka_bootstrap, topic, sim, tmp_path / "data-a", policy)
        env_b = {**env_a, "WRAPUP_WEB_PORT": str(free_port()),
                 "WRAPUP_DATA_DIR": str(tmp_path / "data-b")}
        a = start_worker(env_a)
        b = start_worker(env_b)
        a.wait_ready()  # again: b's arrival moved some of a's partitions to b
        outcomes = sim.tail(env_a["WRAPUP_OUTCOMES_TOPIC"], 4)
        sim.start_bridge()
        target = int(0.4 * len(expect.eligible))
        wait_for(lambda: sim.posts() >= target, timeout=60, message=f"{target} posts")
        share_a = a.metric("wrapup_pairs_completed_total")
        before_b = b.metric("wrapup_pairs_completed_total")
        a.kill()
        verdict = settle(sim, expect, outcomes, [b])
        after_b = b.metric("wrapup_pairs_completed_total")
    print(f"pairs completed before the kill: a={share_a:.0f} b={before_b:.0f}; "
          f"b after: {after_b:.0f}; runtime {time.monotonic() - began:.1f}s")
    assert share_a > 0 and before_b > 0  # both had partitions
    assert after_b > before_b  # and b took over a's
    assert verdict.applied_by_us >= 0.8 * verdict.eligible
    assert verdict.wrapped_first_by.get("platform", 0) == 0


def test_transient_chaos_is_absorbed_and_only_permanent_errors_are_dead_lettered(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    """10 % 5xx, 5 % timeouts, three 429 bursts and two forced token expiries (OAuth),
    plus a policy rule naming a code the platform refuses (400: permanent)."""
    began = time.monotonic()
    topic = topic_factory(partitions=2)
    workload = make_workload(1000, seed=9, agent_pick_probability=0.1, lost_fraction=0.02)
    chaos = Chaos(error_fraction=0.10, timeout_fraction=0.05, hold_seconds=3.0)
    auth = AuthConfig(client_id="e2e-client", client_secret="e2e-secret", token_ttl=30.0)
    policy = policy_doc(workload, BOGUS_RULE)
    expect = Expectation.of(workload, Policy.from_json(orjson.dumps(policy)))
    assert len(expect.permanent) >= 10
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, chaos=chaos,
                   auth=auth) as sim:
        env = sim_env(kafka_bootstrap, topic, sim, tmp_path / "data", policy,
                      WRAPUP_API_TOKEN="", WRAPUP_OAUTH_CLIENT_ID=auth.client_id,
                      WRAPUP_OAUTH_CLIENT_SECRET=auth.client_secret,
                      WRAPUP_API_TIMEOUT_SECONDS="1")
        worker = start_worker(env)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        dead = sim.tail(env["WRAPUP_DEAD_LETTER_TOPIC"], 2)
        sim.start_bridge()
        total = len(expect.eligible)
        for share, action in ((0.15, "burst"), (0.3, "expire"), (0.45, "burst"),
                              (0.6, "expire"), (0.75, "burst")):
            wait_for(lambda s=share: sim.posts() >= s * total, timeout=60,  # type: ignore[misc]
                     message=f"{share:.0%} posts")
            if action == "burst":
                sim.call(lambda p: p.burst_429(30))
            else:
                sim.call(lambda p: p.expire_tokens())
        verdict = settle(sim, expect, outcomes, [worker])
        injected = {reason: sim.count(reason=reason) for reason in (
            "injected_error", "injected_timeout", "rate_limited", "token_expired")}
        letters = list(dead.records)
        final = outcomes.last_by_key()
    print(f"injected: {injected}; dead letters: {len(letters)}; "
          f"runtime {time.monotonic() - began:.1f}s")
    assert all(injected.values()), injected  # every kind of trouble really happened
    assert verdict.applied_by_us >= 0.8 * verdict.eligible
    assert verdict.wrapped_first_by.get("platform", 0) == 0
    reasons = {h["wrapup-reason"].decode() for _k, _v, h in letters}
    kinds = {h["wrapup-kind"] for _k, _v, h in letters}
    assert reasons <= PERMANENT_REASONS and kinds == {b"delivery"}, (reasons, kinds)
    failed = {k for k, r in final.items() if r["outcome"] == "failed"}
    assert {k.decode() for k, _v, _h in letters if k} == failed
    assert failed <= expect.permanent and len(failed) >= 0.8 * len(expect.permanent)


def test_a_slow_interaction_does_not_delay_the_others(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    """Every API request of 10 % of the interactions takes 2 s longer. Measure, for the
    others, the time from the worker's decision to post (``decided_at`` in the outcome
    record) to the POST arriving at the platform (the ledger): both wall clocks of this
    machine. 60 interactions/s, a rate the worker keeps up with on a 2-core machine, so
    the figure is the delivery path's, not a backlog's."""
    began = time.monotonic()
    topic = topic_factory(partitions=2)
    workload = make_workload(1000, seed=10, rate=60.0, agent_pick_probability=0.0)
    chaos = Chaos(slow_fraction=0.1, slow_seconds=2.0)
    policy = policy_doc(workload)
    expect = Expectation.of(workload, Policy.from_json(orjson.dumps(policy)))
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, chaos=chaos) as sim:
        env = sim_env(kafka_bootstrap, topic, sim, tmp_path / "data", policy,
                      WRAPUP_API_TIMEOUT_SECONDS="5")  # > 2 s: the slow POSTs succeed
        worker = start_worker(env)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        sim.start_bridge()
        verdict = settle(sim, expect, outcomes, [worker])
        decided = {k: r["decided_at"] for k, r in outcomes.last_by_key().items()
                   if r["outcome"] == "applied"}
        fast, slow, held = sim.call(lambda p: decision_to_post(p, decided))
        under = worker.metric("wrapup_decision_latency_seconds_bucket", le="0.25")
        count = worker.metric("wrapup_decision_latency_seconds_count")
    fast_p, slow_p, held_p = percentiles(fast), percentiles(slow), percentiles(held)
    print(f"decision -> POST at the platform, other interactions: {fast_p}")
    print(f"decision -> POST at the platform, slow interactions: {slow_p}")
    print(f"slow interactions, POST arrival -> applied: {held_p}")
    print(f"worker wrapup_decision_latency_seconds: {under:.0f}/{count:.0f} <= 0.25 s; "
          f"runtime {time.monotonic() - began:.1f}s")
    assert verdict.applied_by_us == verdict.eligible
    assert slow_p["n"] >= 50 and fast_p["n"] >= 600
    assert held_p["p50"] >= 2.0  # the latency was real
    assert fast_p["p50"] < 0.2 and fast_p["p95"] < 1.0  # "well under 2 s"
    assert under >= 0.9 * count


def decision_to_post(p: Platform, decided: dict[str, float]
                     ) -> tuple[list[float], list[float], list[float]]:
    """Seconds from the decision to our first POST's arrival, for the fast and the slow
    interactions; and for the slow ones, from that arrival to the wrap-up being applied."""
    first_post: dict[str, float] = {}
    for r in p.ledger.posts():
        if r.interaction_id is not None:
            first_post.setdefault(r.interaction_id, r.at)
    fast: list[float] = []
    slow: list[float] = []
    held: list[float] = []
    for iid, at in decided.items():
        if iid not in first_post:
            continue
        if p.chaos.is_slow(iid):
            slow.append(first_post[iid] - at)
            held.append(p.ledger.wrapups[iid].at - first_post[iid])
        else:
            fast.append(first_post[iid] - at)
    return fast, slow, held


def test_a_wrapped_event_before_our_post_cancels_it(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    """Deliveries queue behind a 5/s client rate limit; half the agents pick a code
    ~0.4 s into wrapping-up. Their interaction:wrapped events must cancel our queued
    POSTs: no request at all for those, and never a code over the agent's."""
    topic = topic_factory(partitions=2)
    workload = make_workload(80, seed=12, rate=200.0, agent_pick_probability=0.5)
    policy = policy_doc(workload)
    expect = Expectation.of(workload, Policy.from_json(orjson.dumps(policy)))
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic) as sim:
        env = sim_env(kafka_bootstrap, topic, sim, tmp_path / "data", policy,
                      WRAPUP_API_RATE_LIMIT="5")
        worker = start_worker(env)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        sim.start_bridge()
        verdict = settle(sim, expect, outcomes, [worker])
        cancelled = [k for k, r in outcomes.last_by_key().items()
                     if r["reason"] == "cancelled_wrapped" and r["attempts"] == 0]
        posted = sim.call(lambda p: {r.interaction_id for r in p.ledger.posts()})
        other = sim.call(lambda p: [(r.interaction_id, r.status, r.reason)
                                    for r in p.ledger.posts() if r.reason != "applied"])
        agent_wraps = sim.call(lambda p: {w.interaction_id for w in p.ledger.wrapped_by("agent")})
        cancels = worker.metric("wrapup_join_decisions_total", action="cancel")
    print(f"{verdict.line()}; cancelled before posting: {len(cancelled)}; "
          f"POSTs not applied: {other}")
    assert len(cancelled) >= 10
    assert not set(cancelled) & posted  # cancelled ones were never POSTed
    assert set(cancelled) <= agent_wraps
    assert cancels >= len(cancelled)


class TokenRecordingPlatform(Platform):
    """Remembers every access token it issues (to look for them where they must not be)."""

    issued: list[str]

    def issue_token(self, now: float | None = None) -> tuple[str, float]:
        token, ttl = super().issue_token(now)
        self.__dict__.setdefault("issued", []).append(token)
        return token, ttl


def test_the_client_secret_and_tokens_appear_in_no_log_metric_outcome_or_dead_letter(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    topic = topic_factory(partitions=2)
    workload = make_workload(200, seed=13, rate=100.0)
    secret = f"s3cret-{uuid.uuid4().hex}"
    auth = AuthConfig(client_id="e2e-secrets", client_secret=secret, token_ttl=2.0)
    policy = policy_doc(workload, BOGUS_RULE)
    expect = Expectation.of(workload, Policy.from_json(orjson.dumps(policy)))
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, auth=auth,
                   platform_type=TokenRecordingPlatform) as sim:
        env = sim_env(kafka_bootstrap, topic, sim, tmp_path / "data", policy,
                      WRAPUP_API_TOKEN="", WRAPUP_OAUTH_CLIENT_ID=auth.client_id,
                      WRAPUP_OAUTH_CLIENT_SECRET=secret, WRAPUP_LOG_LEVEL="DEBUG")
        worker = start_worker(env)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        dead = sim.tail(env["WRAPUP_DEAD_LETTER_TOPIC"], 2)
        sim.start_bridge()
        wait_for(lambda: sim.posts() >= 50, timeout=30, message="50 posts")
        sim.call(lambda p: p.expire_tokens())
        settle(sim, expect, outcomes, [worker])
        issued = sim.call(lambda p: list(getattr(p, "issued", [])))
        expired = sim.count(reason="token_expired")
        metrics_text = worker.metrics()
        records = list(outcomes.records) + list(dead.records)
    log_text = worker.log_path.read_text(errors="replace")
    assert len(issued) >= 2 and expired >= 1  # tokens were issued, refreshed and rejected
    assert len(dead.records) >= 1 and len(outcomes.records) >= 100
    assert '"level":"debug"' in log_text and '"wrapup.outcome"' in log_text
    basic = base64.b64encode(f"{auth.client_id}:{secret}".encode()).decode()
    needles = {"client secret": secret, "basic credentials": basic,
               **{f"token {i}": t for i, t in enumerate(issued)}}
    places = {"worker log": log_text, "/metrics": metrics_text,
              **{f"record {i}": repr(r) for i, r in enumerate(records)}}
    leaks = [f"{what} in {where}" for what, needle in needles.items()
             for where, text in places.items() if needle in text]
    assert leaks == []
