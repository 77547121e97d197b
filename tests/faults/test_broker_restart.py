"""Issue 11, case 3: the broker stopped for at least 8 s and started again, mid-run.

This case needs a broker of its own, whatever ``KAFKA_BOOTSTRAP_SERVERS`` says: a
:class:`~streams.dev.kafka.LocalKafka` on its own data dir and fixed ports (shared by
the two variants of this module), stopped (SIGTERM) and started again on the same port
and data dir. The worker, the simulator's bridge and the outcomes tail ride it out.
Variants: the stop in the middle of the traffic, and the stop once every event has been
published (the bridge stopped first: no further traffic).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.dev.kafka import LocalKafka, find_free_port
from streams.dev.simulator.chaos import Chaos
from streams.dev.simulator.workload import Workload
from streams.kafka.admin import TopicSpec, ensure_topics_sync
from tests.faults.fixtures import (
    FaultWorker,
    Workers,
    applied_count,
    expectation,
    first_applied_after,
    settle_exactly_once,
    sim_env,
    stop_bridge,
    wait_pairs_published,
)
from tests.helpers import wait_for
from tests.worker.simulated import Simulator, make_workload

pytestmark = pytest.mark.kafka  # no kafka_bootstrap fixture: mark it by hand
DOWN_SECONDS = 8.0
PARTITIONS = 2


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A broker for this module only, on fixed ports so it can come back on them."""
    kafka = LocalKafka(tmp_path_factory.mktemp("own-kafka"), port=find_free_port(),
                       controller_port=find_free_port(), heap="512m")
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.stop()


def broker_outage(kafka: LocalKafka, workers: list[FaultWorker]) -> tuple[float, float]:
    """Stop the broker, keep it down >= DOWN_SECONDS (the workers must stay alive), start
    it again on the same port and data dir; returns (stopped at, back at)."""
    kafka.stop()
    stopped_at = time.time()
    assert not kafka.is_running()

    def long_enough() -> bool:
        for w in workers:
            assert w.proc is not None and w.proc.poll() is None, w.log_tail()
        return time.time() - stopped_at >= DOWN_SECONDS
    wait_for(long_enough, timeout=DOWN_SECONDS + 10, interval=0.2, message="outage")
    kafka.start()
    return stopped_at, time.time()


def run_outage(kafka: LocalKafka, workers: Workers, tmp_path: Path, workload: Workload, *,
               near_end: bool) -> None:
    began = time.monotonic()
    bootstrap = kafka.bootstrap_servers
    topic = f"faults-broker-{'end' if near_end else 'mid'}-{int(time.time() * 1000)}"
    ensure_topics_sync(bootstrap, [TopicSpec(topic, PARTITIONS)])
    expect = expectation(workload)
    chaos = Chaos(latency_seconds=0.02, latency_jitter_seconds=0.1)
    with Simulator(workload, bootstrap=bootstrap, topic=topic, chaos=chaos) as sim:
        # Near the end, deliveries queue behind a 6/s rate limit (~26 s of them): work is
        # left at the stop, usually also for after the broker is back.
        env = sim_env(bootstrap, topic, sim, tmp_path / "data",
                      WRAPUP_API_RATE_LIMIT="6" if near_end else "500")
        worker = workers.start(env, "a")
        outcomes = sim.tail(env["WRAPUP_OUTCOMES_TOPIC"], PARTITIONS)
        sim.start_bridge()
        if near_end:
            wait_pairs_published(sim)
            stop_bridge(sim)  # every message acknowledged; nothing more is produced
        else:
            wait_for(lambda: applied_count(sim) >= 0.25 * len(expect.eligible), timeout=60,
                     message="a quarter of the wrap-ups applied")
        applied_before = applied_count(sim)
        stopped_at, back_at = broker_outage(kafka, [worker])
        applied_at_back = applied_count(sim)
        settle_exactly_once(sim, expect, outcomes, [worker])
        settled_at = time.time()
        resumed = first_applied_after(sim, back_at)
    print(f"eligible {len(expect.eligible)}: {applied_before} applied before the stop, "
          f"{applied_at_back - applied_before} while the broker was down "
          f"({back_at - stopped_at:.1f}s, restart included), "
          f"{len(expect.eligible) - applied_at_back} after it was back")
    print(f"broker back -> first wrap-up "
          f"{'n/a' if resumed is None else f'{resumed - back_at:.1f}s'}, -> all settled "
          f"{settled_at - back_at:.1f}s; runtime {time.monotonic() - began:.1f}s")
    assert back_at - stopped_at >= DOWN_SECONDS
    # The outage hit unfinished work (how much is left once the broker is back depends on
    # how long its restart takes on this machine: reported above, not asserted).
    assert applied_before <= 0.5 * len(expect.eligible)


def test_the_broker_stopped_for_8s_mid_traffic_every_wrapup_is_applied_once(
    own_broker: LocalKafka, workers: Workers, tmp_path: Path,
) -> None:
    """~10 s of traffic; the broker goes down once a quarter of it is wrapped."""
    workload = make_workload(300, seed=71, rate=30.0, agent_pick_probability=0.0,
                             lost_fraction=0.02, duplicate_fraction=0.05)
    run_outage(own_broker, workers, tmp_path, workload, near_end=False)


def test_the_broker_stopped_for_8s_after_the_last_event_every_wrapup_is_applied_once(
    own_broker: LocalKafka, workers: Workers, tmp_path: Path,
) -> None:
    """Every event published (~1.5 s, deliveries behind a 6/s rate limit); the bridge
    stops, then the broker: nothing new arrives after it is back."""
    workload = make_workload(200, seed=72, rate=150.0, agent_pick_probability=0.0,
                             lost_fraction=0.02, duplicate_fraction=0.05)
    run_outage(own_broker, workers, tmp_path, workload, near_end=True)
