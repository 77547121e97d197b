"""Issue 13 end to end: the worker with ``WRAPUP_PLATFORM=genesys`` on the real broker,
the simulator in Genesys mode over loopback HTTP (client credentials at its login path,
the communication wrap-up POST or the participant PATCH, read-backs, 300/min per token),
judged by the simulator's per-leg ledger: every eligible agent leg wrapped exactly once,
within its after-call work, with its own queue's code — by us, unless the agent or the
platform's timeout did it first."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from streams.dev.simulator.dialects.genesys import GenesysDialect
from streams.dev.simulator.distributions import fixed
from streams.dev.simulator.workload import Workload
from tests.conftest import TopicFactory
from tests.worker.genesys import (
    Start,
    auth,
    conversations,
    expectation,
    genesys_env,
    leg_checks,
    params,
    settle,
    start_worker,
)
from tests.worker.simulated import Simulator

__all__ = ["start_worker"]  # the fixture


def test_plain_calls_and_transfers_each_leg_wrapped_once_with_its_own_queue_code(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    topic = topic_factory(partitions=2)
    dialect = GenesysDialect(transfer_fraction=0.5, not_required_fraction=0.3,
                             rate_per_minute=6000)
    workload = dialect.plan(params(40))
    expect = expectation(workload)
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, speed=1.0, auth=auth(),
                   dialect=dialect) as sim:
        env = genesys_env(kafka_bootstrap, topic, sim, dialect, tmp_path / "data",
                          WRAPUP_API_RATE_LIMIT="100")
        worker = start_worker(env)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        sim.start_bridge()
        verdict = settle(sim, expect, outcomes, [worker])
        facts = sim.call(lambda p: leg_checks(p, workload))
        codes = sim.call(lambda p: {k: w.code_id for k, w in p.ledger.wrapups.items()})
        tokens = sim.count(path="/oauth/token", reason="token_issued")
    transfers = [legs for legs in conversations(workload).values() if len(legs) == 2]
    print(f"{len(transfers)} transfers; {facts['methods']}; tokens {tokens}")
    assert len(transfers) >= 10 and facts["silent"]
    assert verdict.applied_by_us == verdict.eligible == len(expect.eligible)
    assert set(facts["applied"].values()) == {1}  # one applied request per applied leg
    assert facts["outside_acw"] == [] and facts["touched_silent"] == []
    assert facts["not_ready"] == 0  # posted only once ACW had begun
    assert facts["methods"] == ["POST"]  # the communication was known: no PATCH fallback
    for a, b in transfers:
        for leg in (a, b):
            if leg.expected_code is not None:
                assert codes[leg.interaction_id] == leg.expected_code.id  # its own queue's
        assert a.queue_id != b.queue_id
    assert tokens >= 1


def _mixed(workload: Workload) -> Workload:
    """Every third leg: the agent picks a code as ACW opens; every third: ACW times out
    at once (the platform's ININ-WRAP-UP-TIMEOUT); the rest: plain."""
    legs = []
    for i, leg in enumerate(workload.interactions):
        if i % 3 == 0:
            leg = replace(leg, agent_pick_after=0.0, agent_code=workload.scenario.queue(
                leg.queue_id).agent_codes[0])
        elif i % 3 == 1:
            leg = replace(leg, acw_timeout=0.0)
        legs.append(leg)
    return replace(workload, interactions=tuple(legs))


def test_the_agent_or_the_platform_timeout_first_and_the_participant_patch(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    """Only the flat calls topic is bridged (no communication ID: the PATCH fallback);
    legs the agent or the ACW timeout wrapped first are left alone (skipped), the others
    applied once."""
    topic = topic_factory(partitions=2)
    dialect = GenesysDialect(transfer_fraction=0.3, topics=("calls",), envelope="eventbridge",
                             rate_per_minute=6000)
    workload = _mixed(dialect.plan(params(30)))
    expect = expectation(workload)
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, speed=1.0, auth=auth(),
                   dialect=dialect) as sim:
        env = genesys_env(kafka_bootstrap, topic, sim, dialect, tmp_path / "data",
                          WRAPUP_API_RATE_LIMIT="100")
        worker = start_worker(env)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        sim.start_bridge()
        verdict = settle(sim, expect, outcomes, [worker])
        facts = sim.call(lambda p: leg_checks(p, workload))
        by = sim.call(lambda p: {k: (w.by, w.code_id) for k, w in p.ledger.wrapups.items()})
        last = outcomes.last_by_key()
    first = {i: leg.interaction_id for i, leg in enumerate(workload.interactions)}
    agent = [first[i] for i in first if i % 3 == 0 and first[i] in expect.eligible]
    timeout = [first[i] for i in first if i % 3 == 1 and first[i] in expect.eligible]
    assert agent and timeout
    assert all(by[k][0] == "agent" and last[k]["outcome"] == "skipped" for k in agent)
    assert all(by[k] == ("platform", "ININ-WRAP-UP-TIMEOUT") and last[k]["outcome"] == "skipped"
               for k in timeout)
    assert verdict.wrapped_first_by == {"agent": len(agent), "platform": len(timeout)}
    assert verdict.applied_by_us == len(expect.eligible) - len(agent) - len(timeout)
    assert facts["methods"] == ["PATCH"] and set(facts["applied"].values()) == {1}
    assert facts["outside_acw"] == [] and facts["not_ready"] == 0


def test_a_rate_limit_burst_is_waited_out_and_every_leg_applied_once(
    kafka_bootstrap: str, topic_factory: TopicFactory, start_worker: Start, tmp_path: Path,
) -> None:
    """10 requests per token per 10 s (Genesys: 300 a minute; shortened to keep the test
    short), a worker allowed far more: the simulator answers 429 with Retry-After and the
    inin-ratelimit headers; the worker waits and still applies every leg exactly once,
    within its ACW."""
    topic = topic_factory(partitions=2)
    dialect = GenesysDialect(transfer_fraction=0.3, rate_per_minute=10, rate_window=10.0)
    workload = dialect.plan(params(25, rate=20.0, acw_timeout=fixed(90.0),
                                   duplicate_fraction=0.0, reorder_fraction=0.0))
    expect = expectation(workload)
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, speed=1.0, auth=auth(),
                   dialect=dialect) as sim:
        env = genesys_env(kafka_bootstrap, topic, sim, dialect, tmp_path / "data",
                          WRAPUP_API_RATE_LIMIT="50")
        worker = start_worker(env)
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        sim.start_bridge()
        verdict = settle(sim, expect, outcomes, [worker])
        facts = sim.call(lambda p: leg_checks(p, workload))
    print(f"429s: {facts['rate_limited']}")
    assert len(expect.eligible) > 20 and facts["rate_limited"] > 0
    assert verdict.applied_by_us == verdict.eligible
    assert set(facts["applied"].values()) == {1} and facts["outside_acw"] == []
