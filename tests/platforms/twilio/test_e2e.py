"""The twilio dialect end to end: the real worker on the real broker, the simulator in
TaskRouter mode over loopback HTTP, judged by the simulator's ledger.

Each run plays a small seeded workload (time compressed 20x) through the simulator's
TaskRouter events (``task.wrapup`` callbacks, ``reservation.wrapup`` CloudEvents,
``task.completed`` form bodies) and checks, per task: completed exactly once, by us
unless the agent or Flex's auto-complete did it first, never before ``wrapping`` (the
simulator ledgers that as ``not_ready``), and no request after ours was applied
(:func:`tests.worker.simulated.judge`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.dev.simulator.chaos import Chaos
from streams.dev.simulator.dialects import load
from streams.dev.simulator.dialects.twilio import TwilioDialect
from streams.dev.simulator.distributions import fixed
from streams.dev.simulator.platform import AuthConfig
from streams.dev.simulator.workload import Workload, WorkloadParams
from streams.policy import Policy
from tests.conftest import TopicFactory
from tests.helpers import wait_for
from tests.worker.fixtures import WorkerProcess, worker_env
from tests.worker.simulated import Expectation, Simulator, Tail, Verdict, judge, unsettled

SPEED = 20.0
SETTLE_TIMEOUT = 120.0
DIALECT = load("twilio")
assert isinstance(DIALECT, TwilioDialect)
TWILIO: TwilioDialect = DIALECT

Start = Callable[[dict[str, str]], WorkerProcess]


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Start]:
    """``start_worker(env) -> WorkerProcess`` once ready; all are killed afterwards."""
    started: list[WorkerProcess] = []

    def start(env: dict[str, str]) -> WorkerProcess:
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log").start()
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.kill()


def tasks(n: int, *, seed: int, acw_timeout: float = 60.0, **params: Any) -> Workload:
    """``n`` tasks at 100/s real time; ``acw_timeout`` in real seconds (Flex's
    auto-complete of a wrapping task)."""
    return DIALECT.plan(WorkloadParams(interactions=n, rate=100.0 / SPEED, seed=seed,
                                       acw_timeout=fixed(acw_timeout * SPEED), **params))


def expectation(workload: Workload) -> tuple[dict[str, Any], Expectation]:
    policy = workload.scenario.policy_document()
    return policy, Expectation.of(workload, Policy.from_json(orjson.dumps(policy)))


def env_for(sim: Simulator, topic: str, bootstrap: str, data: Path, policy: dict[str, Any],
            **overrides: str) -> dict[str, str]:
    env = worker_env(bootstrap, topic, sim.base_url, data, **{
        "WRAPUP_POLICY_JSON": orjson.dumps(policy).decode(),
        "WRAPUP_API_RATE_LIMIT": "500", "WRAPUP_API_TIMEOUT_SECONDS": "3",
        **DIALECT.worker_env(sim.base_url, sim.platform.auth)})
    env.pop("WRAPUP_API_TOKEN")  # the generic dialect's; twilio uses Basic credentials
    env.update(overrides)
    return {k: v for k, v in env.items() if v != ""}


def settle(sim: Simulator, expect: Expectation, outcomes: Tail,
           worker: WorkerProcess) -> Verdict:
    def done() -> bool:
        assert sim.bridge_error() is None, sim.bridge_error()
        assert worker.proc is not None and worker.proc.poll() is None, worker.log_tail()
        return not sim.call(unsettled(expect, outcomes))
    try:
        wait_for(done, timeout=SETTLE_TIMEOUT, interval=0.5, message="all outcomes")
    except AssertionError:
        left = sim.call(unsettled(expect, outcomes))
        raise AssertionError(f"{len(left)} unsettled, e.g. {left[:5]}; "
                             f"{sim.call(judge(expect, outcomes)).line()}") from None
    verdict = sim.call(judge(expect, outcomes))
    print(verdict.line())
    assert verdict.violations == [], verdict.violations[:10]
    assert sim.count(reason="not_ready") == 0  # never completed before wrapping
    assert sim.count(reason="bad_request") == 0  # never a malformed form (or Attributes)
    return verdict


def test_plain_tasks_and_agents_who_complete_first(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    """300 tasks; a third of the agents complete the task the moment it wraps."""
    began = time.monotonic()
    topic = topic_factory(partitions=2)
    workload = tasks(300, seed=21, agent_pick_probability=0.33,
                     agent_pick_delay=fixed(0.0), duplicate_fraction=0.05,
                     lost_fraction=0.02)
    policy, expect = expectation(workload)
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, speed=SPEED,
                   dialect=DIALECT) as sim:
        env = env_for(sim, topic, kafka_bootstrap, tmp_path / "data", policy)
        worker = start_worker(env)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        sim.start_bridge()
        verdict = settle(sim, expect, outcomes, worker)
        applied = sim.count(reason="applied")
    print(f"runtime {time.monotonic() - began:.1f}s")
    agents = verdict.wrapped_first_by.get("agent", 0)
    assert agents >= 60 and verdict.applied_by_us + agents == verdict.eligible
    assert applied == verdict.applied_by_us  # one applied completion per task of ours
    assert verdict.posts <= verdict.applied_by_us + agents  # at most one try per task


def test_flex_auto_completes_first_and_nothing_is_overwritten(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    """Every API request takes 1 s and Flex auto-completes wrapping tasks after 0.2 s:
    the platform always wins; each task is completed once, by Flex, and skipped here."""
    topic = topic_factory(partitions=2)
    workload = tasks(60, seed=22, acw_timeout=0.2, agent_pick_probability=0.0)
    policy, expect = expectation(workload)
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, speed=SPEED,
                   dialect=DIALECT, chaos=Chaos(latency_seconds=1.0)) as sim:
        env = env_for(sim, topic, kafka_bootstrap, tmp_path / "data", policy)
        worker = start_worker(env)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        sim.start_bridge()
        verdict = settle(sim, expect, outcomes, worker)
        refused = sim.count(reason="already_wrapped", status=400)
        final = outcomes.last_by_key()
    print(f"400 already completed: {refused}")
    assert verdict.applied_by_us == 0
    assert verdict.wrapped_first_by == {"platform": verdict.eligible}
    assert {r["outcome"] for k, r in final.items() if k in expect.eligible} == {"skipped"}


def test_a_burst_of_5xx_and_429_is_ridden_out(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    """20 % of API requests answer 500/502/503 and three bursts of 25 429s (Retry-After):
    every eligible task still completed exactly once."""
    topic = topic_factory(partitions=2)
    workload = tasks(300, seed=23, agent_pick_probability=0.0)
    policy, expect = expectation(workload)
    chaos = Chaos(error_fraction=0.2, error_statuses=(500, 502, 503))
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, speed=SPEED,
                   dialect=DIALECT, chaos=chaos) as sim:
        env = env_for(sim, topic, kafka_bootstrap, tmp_path / "data", policy)
        worker = start_worker(env)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        sim.start_bridge()
        for share in (0.2, 0.45, 0.7):
            wait_for(lambda s=share: sim.posts() >= s * len(expect.eligible),  # type: ignore[misc]
                     timeout=60, message=f"{share:.0%} posts")
            sim.call(lambda p: p.burst_429(25))
        verdict = settle(sim, expect, outcomes, worker)
        injected = {reason: sim.count(reason=reason)
                    for reason in ("injected_error", "rate_limited")}
    print(f"injected: {injected}")
    assert injected["injected_error"] >= 20 and injected["rate_limited"] >= 25, injected
    assert verdict.applied_by_us == verdict.eligible


def test_a_rotated_api_key_secret_is_picked_up_from_its_file(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    """The secret comes from a file (a mounted Secret). Mid-run the platform rotates it:
    401s until the file is updated 1.5 s later, then the worker goes on; exactly once."""
    topic = topic_factory(partitions=2)
    workload = tasks(200, seed=24, agent_pick_probability=0.0)
    policy, expect = expectation(workload)
    secret = tmp_path / "twilio-secret"
    secret.write_text("first-secret\n")
    auth = AuthConfig(client_secret="first-secret")
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, speed=SPEED,
                   dialect=DIALECT, auth=auth) as sim:
        env = env_for(sim, topic, kafka_bootstrap, tmp_path / "data", policy,
                      WRAPUP_TWILIO_API_KEY_SECRET="",
                      WRAPUP_TWILIO_API_KEY_SECRET_FILE=str(secret),
                      WRAPUP_API_MAX_ATTEMPTS="30")
        worker = start_worker(env)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        sim.start_bridge()
        wait_for(lambda: sim.posts() >= 0.3 * len(expect.eligible), timeout=60,
                 message="30% posts")
        sim.call(lambda p: TWILIO.rotate(p, "second-secret"))
        wait_for(lambda: sim.count(status=401) >= 5, timeout=30, message="401s")
        time.sleep(1.5)  # the Secret's update reaches the pod a little later (the delay
        secret.write_text("second-secret\n")  # under test, not a wait for a result)
        verdict = settle(sim, expect, outcomes, worker)
        refused = sim.count(status=401)
    print(f"401s while rotating: {refused}")
    assert refused >= 5 and verdict.applied_by_us == verdict.eligible


def test_wrong_credentials_complete_nothing_and_fail_as_unauthorized(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    """A plain secret that the platform refuses cannot change: one 401 per task, every
    eligible task's outcome is failed/unauthorized, and none is completed by us."""
    topic = topic_factory(partitions=1)
    workload = tasks(20, seed=25, agent_pick_probability=0.0)
    policy, expect = expectation(workload)
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, speed=SPEED,
                   dialect=DIALECT) as sim:
        env = env_for(sim, topic, kafka_bootstrap, tmp_path / "data", policy,
                      WRAPUP_TWILIO_API_KEY_SECRET="not-the-secret")
        worker = start_worker(env)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 1)
        sim.start_bridge()
        wait_for(lambda: all(i in outcomes.latest for i in expect.eligible), timeout=90,
                 message="an outcome per eligible task")
        assert worker.proc is not None and worker.proc.poll() is None
        final = outcomes.last_by_key()
        ours = sim.call(lambda p: [w for w in p.ledger.wrapups.values() if w.by == "api"])
        posts = sim.call(lambda p: [(r.status, r.reason) for r in p.ledger.posts()])
    assert {(final[i]["outcome"], final[i]["reason"]) for i in expect.eligible} == {
        ("failed", "unauthorized")}
    assert ours == [] and posts and all(s == 401 for s, _ in posts)
    assert len(posts) == len(expect.eligible)  # not retried: nothing could change
