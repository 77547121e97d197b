"""Issue 14, CXone end to end: the real worker (``WRAPUP_PLATFORM=cxone``) on the real
broker against the simulator in CXone mode over loopback HTTP (token with the access key,
API discovery, disposition POST in the agent session, read-back), judged by the
simulator's ledger (:func:`tests.worker.simulated.judge`): each eligible contact gets
exactly one disposition, ours unless the agent or the ACW timeout came first, and no POST
after ours was applied. Time is compressed 20x as in the generic end-to-end tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.dev.simulator.chaos import Chaos
from streams.dev.simulator.dialects.cxone import CxoneDialect, session_of
from streams.dev.simulator.distributions import fixed
from streams.dev.simulator.platform import AuthConfig, Platform
from streams.dev.simulator.workload import Workload, WorkloadParams
from streams.policy import Policy
from tests.conftest import TopicFactory
from tests.helpers import wait_for
from tests.worker.fixtures import WorkerProcess, worker_env
from tests.worker.simulated import Expectation, Simulator, Verdict, judge, unsettled

SPEED = 20.0
SETTLE_TIMEOUT = 120.0
DIALECT = CxoneDialect()


def workload(interactions: int, *, seed: int, acw_timeout: float = 60.0,
             rate: float = 100.0, **params: Any) -> Workload:
    """A CXone plan (numeric skills and dispositions) compressed ``SPEED`` times."""
    return DIALECT.plan(WorkloadParams(interactions=interactions, rate=rate / SPEED, seed=seed,
                                       acw_timeout=fixed(acw_timeout * SPEED), **params))


@pytest.fixture
def run(kafka_bootstrap: str, topic_factory: TopicFactory,
        tmp_path: Path) -> Iterator[Any]:
    """``run(workload, auth, chaos, during)`` plays the workload through a CXone worker and
    returns (verdict, simulator ledger snapshot, outcomes); ``during(sim, total)`` acts
    mid-run."""
    workers: list[WorkerProcess] = []

    def play(plan: Workload, *, auth: AuthConfig, chaos: Chaos | None = None,
             during: Any = None) -> tuple[Verdict, Platform, dict[str, Any], Simulator]:
        topic = topic_factory(partitions=2)
        policy = plan.scenario.policy_document()
        expect = Expectation.of(plan, Policy.from_json(orjson.dumps(policy)))
        sim = Simulator(plan, bootstrap=kafka_bootstrap, topic=topic, speed=SPEED, auth=auth,
                        chaos=chaos, dialect=DIALECT)
        with sim:
            env = worker_env(kafka_bootstrap, topic, sim.base_url, tmp_path / "data", **{
                "WRAPUP_POLICY_JSON": orjson.dumps(policy).decode(), "WRAPUP_API_TOKEN": "",
                "WRAPUP_API_RATE_LIMIT": "500", "WRAPUP_API_TIMEOUT_SECONDS": "2",
                **DIALECT.worker_env(sim.base_url, auth)})
            worker = WorkerProcess(env, tmp_path / f"worker-{len(workers)}.log").start()
            workers.append(worker)
            worker.wait_ready()
            outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
            sim.start_bridge()
            if during is not None:
                during(sim, len(expect.eligible))

            def done() -> bool:
                assert sim.bridge_error() is None, sim.bridge_error()
                assert worker.proc is not None and worker.proc.poll() is None, \
                    worker.log_tail()
                return not sim.call(unsettled(expect, outcomes))

            wait_for(done, timeout=SETTLE_TIMEOUT, interval=0.5, message="all outcomes")
            verdict = sim.call(judge(expect, outcomes))
            print(verdict.line())
            assert verdict.violations == [], verdict.violations[:10]
            assert "Traceback" not in worker.log_path.read_text(), worker.log_tail()
            return verdict, sim.platform, outcomes.last_by_key(), sim

    yield play
    for worker in workers:
        worker.kill()


def sessions_are_the_agents(plan: Workload, platform: Platform) -> None:
    agents = {p.interaction_id: p.agent_id for p in plan.interactions}
    for post in platform.ledger.posts():
        assert post.interaction_id is not None
        assert f"/agent-sessions/{session_of(agents[post.interaction_id])}/" in post.path


def test_plain_contacts_and_agent_first_dispositions(run: Any) -> None:
    """A quarter of the agents pick their own disposition as ACW starts (CXone sends no
    event for it): the worker reads back before posting and never posts over it."""
    began = time.monotonic()
    plan = workload(300, seed=21, agent_pick_probability=0.25,
                    agent_pick_delay=fixed(0.0))
    auth = AuthConfig(client_id="e2e-cxone", client_secret="e2e-cxone-secret")
    verdict, platform, outcomes, _sim = run(plan, auth=auth)
    agent_first = {p.interaction_id for p in plan.interactions if p.agent_pick_after is not None}
    posted = {r.interaction_id for r in platform.ledger.posts()}
    print(f"runtime {time.monotonic() - began:.1f}s; outcomes "
          f"{sorted({(o['outcome'], o['reason']) for o in outcomes.values()})}")
    assert verdict.applied_by_us >= 0.6 * verdict.eligible
    assert verdict.wrapped_first_by.get("agent", 0) > 0
    assert verdict.wrapped_first_by.get("platform", 0) == 0
    assert not posted & agent_first, "posted over an agent's disposition"
    assert all(platform.ledger.wrapups[i].by == "agent" for i in agent_first)
    sessions_are_the_agents(plan, platform)
    paths = {r.path for r in platform.ledger.requests}
    assert {"/auth/token", "/.well-known/cxone-configuration"} <= paths


def test_platform_first_the_acw_timeout_closes_the_contact(run: Any) -> None:
    """ACW ends as it starts (timeout 0): the contact closes (FinalState) without a
    disposition; the worker sets none and reports every one skipped."""
    plan = workload(120, seed=22, acw_timeout=0.0, agent_pick_probability=0.0)
    auth = AuthConfig(client_id="e2e-cxone", client_secret="e2e-cxone-secret")
    verdict, platform, outcomes, _sim = run(plan, auth=auth)
    print(sorted({(o["outcome"], o["reason"]) for o in outcomes.values()}))
    assert verdict.eligible > 0 and verdict.applied_by_us == 0
    assert verdict.wrapped_first_by == {"platform": verdict.eligible}
    assert not [r for r in platform.ledger.posts() if r.status == 202]


def test_a_transient_error_burst_and_an_auth_refresh(run: Any) -> None:
    """5 % 5xx throughout, two 429 bursts (Retry-After) and a forced expiry of every
    token, with tokens that also expire on their own (20 s): one disposition each."""
    plan = workload(300, seed=23, agent_pick_probability=0.0)
    auth = AuthConfig(client_id="e2e-cxone", client_secret="e2e-cxone-secret", token_ttl=20.0)

    def trouble(sim: Simulator, total: int) -> None:
        for share, action in ((0.2, "burst"), (0.4, "expire"), (0.6, "burst")):
            wait_for(lambda s=share: sim.posts() >= s * total, timeout=60,  # type: ignore[misc]
                     message=f"{share:.0%} posts")
            sim.call((lambda p: p.burst_429(20)) if action == "burst"
                     else (lambda p: p.expire_tokens()))

    verdict, platform, _outcomes, _sim = run(plan, auth=auth,
                                             chaos=Chaos(error_fraction=0.05), during=trouble)
    injected = {reason: sum(1 for r in platform.ledger.requests if r.reason == reason)
                for reason in ("injected_error", "rate_limited", "token_expired",
                               "token_issued")}
    print(f"injected: {injected}")
    assert all(injected.values()), injected
    assert injected["token_issued"] >= 2  # refreshed after the forced expiry
    assert sum(1 for r in platform.ledger.requests
               if r.path == "/.well-known/cxone-configuration") == 1  # discovered once
    assert verdict.applied_by_us >= 0.8 * verdict.eligible
    sessions_are_the_agents(plan, platform)
