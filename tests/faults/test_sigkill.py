"""Issue 11, cases 1 and 2: SIGKILL with no traffic afterwards, and SIGKILL right after
the worker became ready, twice in a row.

Both on the session broker, the simulator as the platform (API latency 50-250 ms keeps
deliveries in flight), judged by the simulator's ledger: every eligible interaction
applied by us exactly once inside its ACW window, and no POST after an applied wrap-up.
"""

from __future__ import annotations

import time
from pathlib import Path

from streams.dev.simulator.chaos import Chaos
from tests.conftest import TopicFactory
from tests.faults.fixtures import (
    FaultWorker,
    Workers,
    applied_count,
    expectation,
    first_applied_after,
    metric_or_none,
    settle_exactly_once,
    sim_env,
    stop_bridge,
    wait_pairs_published,
    wait_until,
)
from tests.helpers import wait_for
from tests.worker.simulated import Simulator, make_workload

CHAOS = Chaos(latency_seconds=0.05, latency_jitter_seconds=0.2)


def test_killed_after_the_last_event_with_no_traffic_afterwards_every_pair_completes(
    kafka_bootstrap: str, topic_factory: TopicFactory, workers: Workers, tmp_path: Path,
) -> None:
    """The whole workload's ended/wrapping-up events are published in ~2 s; deliveries
    queue behind a 40/s client rate limit. The moment the last of them is published the
    bridge stops (nothing more reaches the topic, not even the echoes of our wrap-ups)
    and the worker is SIGKILLed: pending pairs, pairs whose second event had just
    arrived (or not yet been read) and deliveries in flight are all completed by the
    restarted worker from what is already in Kafka."""
    began = time.monotonic()
    topic = topic_factory(partitions=2)
    workload = make_workload(250, seed=31, rate=150.0, agent_pick_probability=0.0,
                             lost_fraction=0.02, duplicate_fraction=0.05)
    expect = expectation(workload)
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, chaos=CHAOS) as sim:
        env = sim_env(kafka_bootstrap, topic, sim, tmp_path / "data",
                      WRAPUP_API_RATE_LIMIT="40")
        worker = workers.start(env, "a")
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        sim.start_bridge()
        wait_pairs_published(sim)
        last_published = time.time()
        paired = metric_or_none(worker, "wrapup_pairs_completed_total")
        stop_bridge(sim)
        worker.kill()
        killed_at = time.time()
        applied_at_kill = applied_count(sim)
        outcomes_at_kill = len(outcomes.last_by_key())
        restarted = workers.start(env, "a")
        settle_exactly_once(sim, expect, outcomes, [restarted])
        resumed = first_applied_after(sim, killed_at)
        settled_at = time.time()
    _, ready_at = restarted.times()
    assert resumed is not None
    print(f"eligible {len(expect.eligible)}; at the kill ({killed_at - last_published:.2f}s "
          f"after the last pair event was published): paired by the worker {paired}, "
          f"applied {applied_at_kill}, outcomes {outcomes_at_kill}")
    print(f"kill -> restarted ready {ready_at - killed_at:.2f}s, ready -> first "
          f"wrap-up {resumed - ready_at:.2f}s, kill -> all settled "
          f"{settled_at - killed_at:.1f}s; runtime {time.monotonic() - began:.1f}s")
    # The kill really left work behind: most wrap-ups were still to be applied.
    assert applied_at_kill <= 0.7 * len(expect.eligible)


def test_killed_within_a_second_of_ready_twice_in_a_row_then_a_worker_that_stays(
    kafka_bootstrap: str, topic_factory: TopicFactory, workers: Workers, tmp_path: Path,
) -> None:
    """Traffic for ~15 s. The first worker is SIGKILLed mid-run; its replacement is
    SIGKILLed the moment /readyz says 200; the next one at its first wrap-up (at the
    latest 0.9 s after ready); the fourth stays and everything settles."""
    began = time.monotonic()
    topic = topic_factory(partitions=2)
    workload = make_workload(300, seed=32, rate=20.0, agent_pick_probability=0.0,
                             lost_fraction=0.02, duplicate_fraction=0.05)
    expect = expectation(workload)
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic, chaos=CHAOS) as sim:
        env = sim_env(kafka_bootstrap, topic, sim, tmp_path / "data")
        worker = workers.start(env, "a")
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], 2)
        sim.start_bridge()
        wait_for(lambda: applied_count(sim) >= 40, timeout=60, message="40 wrap-ups applied")
        worker.kill()
        figures = [f"mid-run kill with {applied_count(sim)} applied"]
        quick_kills: list[float] = []

        def restart_and_kill(when: str) -> FaultWorker:
            doomed = workers.start(env, "a")
            _, ready_at = doomed.times()
            if when == "first wrap-up":
                wait_until(lambda: first_applied_after(sim, ready_at) is not None, timeout=0.9,
                           interval=0.02)
            doomed.kill()
            after = time.time() - ready_at
            quick_kills.append(after)
            figures.append(f"killed {after:.2f}s after ready (at {when}), "
                           f"{applied_count(sim)} applied")
            return doomed

        restart_and_kill("ready")
        restart_and_kill("first wrap-up")
        survivor = workers.start(env, "a")
        settle_exactly_once(sim, expect, outcomes, [survivor])
    print("; ".join(figures))
    print(f"runtime {time.monotonic() - began:.1f}s")
    assert all(after < 1.0 for after in quick_kills), quick_kills
