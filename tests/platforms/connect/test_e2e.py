"""Issue 14, Amazon Connect end to end: the real worker (WRAPUP_PLATFORM=connect) on the
real broker against the simulator in Connect mode over loopback HTTP (SigV4 verified on
every request, EventBridge contact events on the topic).

Each run is judged by the simulator's ledger (:func:`tests.worker.simulated.judge`):
every eligible contact's attribute written exactly once by us unless someone else set it
first, nothing on any other contact, no write after ours — and, Connect's own rule, no
write ever landing on an attribute someone else had set (``overwrote``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.dev.simulator.dialects.connect import ConnectDialect
from streams.dev.simulator.distributions import fixed
from streams.dev.simulator.platform import AuthConfig, Platform
from streams.dev.simulator.workload import Workload, WorkloadParams
from streams.policy import Policy
from tests.conftest import TopicFactory
from tests.helpers import wait_for
from tests.worker.fixtures import WorkerProcess, worker_env
from tests.worker.simulated import Expectation, Simulator, Tail, Verdict, judge, unsettled

pytestmark = pytest.mark.kafka
SPEED = 20.0
SETTLE_TIMEOUT = 120.0


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.kill()


def plan(dialect: ConnectDialect, contacts: int, seed: int, **params: Any) -> Workload:
    """A Connect plan compressed ``SPEED`` times (150 contacts/s real), ACW long enough
    that no contact reaches its end before we write (Connect sets no code at ACW end).
    Agents who pick set the attribute as ACW begins, before our read: a pick between
    our read and our write (milliseconds; Connect has no conditional write) would be
    the documented residual race, not what these runs measure."""
    params.setdefault("agent_pick_delay", fixed(0.0))
    return dialect.plan(WorkloadParams(interactions=contacts, rate=150.0 / SPEED, seed=seed,
                                       acw_timeout=fixed(600.0 * SPEED), lost_fraction=0.0,
                                       **params))


def run(dialect: ConnectDialect, workload: Workload, kafka: str, topics: TopicFactory,
        workers: list[WorkerProcess], tmp_path: Path, during: Any = None
        ) -> tuple[Verdict, Ledgered]:
    topic = topics(partitions=2)
    policy = workload.scenario.policy_document()
    expect = Expectation.of(workload, Policy.from_json(orjson.dumps(policy)))
    sim = Simulator(workload, bootstrap=kafka, topic=topic, speed=SPEED, dialect=dialect,
                    auth=AuthConfig(client_id="AKIDSIMULATOR0000001",
                                    client_secret="simulator-secret-key"))
    with sim:
        env = worker_env(kafka, topic, sim.base_url, tmp_path / "data", **{
            "WRAPUP_POLICY_JSON": orjson.dumps(policy).decode(),
            "WRAPUP_API_RATE_LIMIT": "500", "WRAPUP_API_TIMEOUT_SECONDS": "2",
            **dialect.worker_env(sim.base_url, sim.platform.auth)})
        worker = WorkerProcess(env, tmp_path / "worker.log").start()
        workers.append(worker)
        worker.wait_ready()
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        sim.start_bridge()
        if during is not None:
            during(sim)
        verdict = settle(sim, expect, outcomes, worker)
        seen = sim.call(Ledgered.of)
    print(verdict.line(), dict(seen.reasons))
    assert seen.reasons["overwrote"] == 0
    return verdict, seen


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
                             f"{sim.call(judge(expect, outcomes)).line()}\n"
                             f"{worker.log_tail()}") from None
    verdict = sim.call(judge(expect, outcomes))
    assert verdict.violations == [], verdict.violations[:10]
    return verdict


@dataclass
class Ledgered:
    """What the ledger says at the end: applied writes per contact, requests per reason."""

    writes: Counter[str]
    reasons: Counter[str]

    @classmethod
    def of(cls, p: Platform) -> Ledgered:
        writes: Counter[str] = Counter()
        for index, r in enumerate(p.ledger.requests):
            if p.ledger.is_wrapup(index) and r.reason == "applied" and r.interaction_id:
                writes[r.interaction_id] += 1
        return cls(writes, Counter(r.reason for r in p.ledger.requests))


def test_plain_contacts_and_agent_first_contacts(
    kafka_bootstrap: str, topic_factory: TopicFactory, workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """30 % of the agents set the attribute as ACW begins (before our read): left alone;
    every other eligible contact gets exactly one write, after one read."""
    dialect = ConnectDialect()
    workload = plan(dialect, 400, seed=21, agent_pick_probability=0.3,
                    duplicate_fraction=0.05)
    verdict, seen = run(dialect, workload, kafka_bootstrap, topic_factory, workers, tmp_path)
    assert verdict.wrapped_first_by.get("agent", 0) > 0.2 * verdict.eligible
    assert verdict.applied_by_us > 0.5 * verdict.eligible
    assert verdict.wrapped_first_by.get("platform", 0) == 0
    assert set(seen.writes.values()) == {1}
    assert seen.reasons["not_ready"] == 0  # Connect has no "not ready"


def test_a_throttling_burst_is_waited_out(
    kafka_bootstrap: str, topic_factory: TopicFactory, workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    dialect = ConnectDialect()
    workload = plan(dialect, 300, seed=22, agent_pick_probability=0.1)

    def burst(sim: Simulator) -> None:
        wait_for(lambda: sim.posts() >= 40, timeout=60, message="40 writes")
        sim.call(lambda p: p.burst_429(60))

    verdict, seen = run(dialect, workload, kafka_bootstrap, topic_factory, workers, tmp_path,
                       burst)
    assert seen.reasons["rate_limited"] == 60
    assert verdict.applied_by_us > 0.7 * verdict.eligible
    assert set(seen.writes.values()) == {1}


def test_expired_temporary_credentials_are_refreshed(
    kafka_bootstrap: str, topic_factory: TopicFactory, workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """Container credentials (botocore's chain, as on ECS / EKS Pod Identity); every
    session token expired twice mid-run: the worker fetches new ones and goes on."""
    dialect = ConnectDialect(credentials="container")
    workload = plan(dialect, 300, seed=23, agent_pick_probability=0.1)

    def expire(sim: Simulator) -> None:
        for target in (60, 150):
            wait_for(lambda t=target: sim.posts() >= t, timeout=60, message=f"{target} writes")
            sim.call(lambda p: p.expire_tokens())

    verdict, seen = run(dialect, workload, kafka_bootstrap, topic_factory, workers, tmp_path,
                       expire)
    assert seen.reasons["token_expired"] >= 2
    assert seen.reasons["credentials_issued"] >= 3
    assert verdict.applied_by_us > 0.7 * verdict.eligible
    assert set(seen.writes.values()) == {1}


def test_a_transfer_is_two_contacts_each_written_once(
    kafka_bootstrap: str, topic_factory: TopicFactory, workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """Every third contact is a transfer of the one before (same initial contact, its own
    contact ID, agent and queue): each contact, its own write with its own queue's code."""
    dialect = ConnectDialect(transfer_every=3)
    workload = plan(dialect, 300, seed=24, agent_pick_probability=0.1)
    legs = [p for p in workload.interactions if "/" in p.interaction_id]
    assert len(legs) >= 90
    verdict, seen = run(dialect, workload, kafka_bootstrap, topic_factory, workers, tmp_path)
    written = seen.writes
    assert set(written.values()) == {1}
    both = [p for p in legs if p.interaction_id in written
            and p.interaction_id.split("/")[0] in written]
    assert len(both) > 0.5 * len(legs)  # both contacts of a transfer written, separately
    assert verdict.applied_by_us > 0.7 * verdict.eligible
