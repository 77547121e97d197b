"""Issue 11, case 5: a live rebalance hands a running worker partitions never committed.

Workers A and B share a group; B owns some partitions of the events topic while nothing
has ever been produced to them, so their offsets were never committed. B is SIGSTOPped
(it holds its partitions, but neither heartbeats nor commits), pairs are produced into
every partition, then B is SIGKILLed. A, running all along, takes B's partitions over
in a live rebalance once B's session has timed out, and must start them at the earliest
offset, not at their end: every pair, B's included, wrapped exactly once inside its ACW.
Two variants: traffic continues after the takeover, and the quiet one where nothing at
all is produced after it.
"""

from __future__ import annotations

import time
from pathlib import Path

from streams.dev.simulator.workload import Workload
from tests.conftest import TopicFactory
from tests.faults.fixtures import (
    Workers,
    committed_offsets,
    expectation,
    first_applied_after,
    group_members,
    partition_of,
    published_pair_messages,
    second_worker_env,
    settle_exactly_once,
    sim_env,
    stable_members,
    stop_bridge,
    wait_pairs_published,
)
from tests.helpers import wait_for
from tests.worker.simulated import Simulator, make_workload

PARTITIONS = 4


def run_takeover(kafka_bootstrap: str, topic: str, workers: Workers, tmp_path: Path,
                 workload: Workload, *, quiet: bool) -> None:
    began = time.monotonic()
    expect = expectation(workload)
    with Simulator(workload, bootstrap=kafka_bootstrap, topic=topic) as sim:
        env_a = sim_env(kafka_bootstrap, topic, sim, tmp_path / "data-a")
        group = env_a["WRAPUP_APP_ID"]
        a = workers.start(env_a, "a")
        _, alone = group_members(kafka_bootstrap, group)
        a_ids = {m.member_id for m in alone}
        b = workers.start(second_worker_env(env_a, tmp_path / "data-b"), "b")
        a.wait_ready()  # again: B's arrival moved some of A's partitions to B
        members = stable_members(kafka_bootstrap, group, 2)
        prefix = f"{group}-b-"
        b_member = next((m for m in members if m.member_id.startswith(prefix)), None) or \
            next(m for m in members if m.member_id not in a_ids)
        b_parts = b_member.of(topic)
        assert b_parts and len(b_parts) < PARTITIONS, members
        on_b = {i for i in expect.eligible if partition_of(i, PARTITIONS) in b_parts}

        b.pause()  # before any record reaches B's partitions
        paused_at = time.time()
        outcomes = sim.tail(env_a["WRAPUP_OUTCOMES_TOPIC"], PARTITIONS)
        sim.start_bridge()
        if quiet:
            wait_pairs_published(sim)
            stop_bridge(sim)  # nothing more is produced, before or after the takeover
        else:
            # Early enough that B's session has not timed out yet (6 s).
            share = 0.15 * 2 * len(workload.interactions)
            wait_for(lambda: published_pair_messages(sim) >= share, timeout=60,
                     message="15 % of the pair events published")
        never = committed_offsets(kafka_bootstrap, group, topic, PARTITIONS)
        b.kill()
        killed_at = time.time()
        settle_exactly_once(sim, expect, outcomes, [a], timeout=90)
        first_on_b = first_applied_after(sim, paused_at, among=on_b)
        pairs_a = a.metric("wrapup_pairs_completed_total")
        rebalances = a.metric("wrapup_rebalances_total")
    assert first_on_b is not None
    print(f"B owned events partitions {sorted(b_parts)} (committed offsets when B was "
          f"killed: {never}); eligible {len(expect.eligible)}, on B's partitions "
          f"{len(on_b)}; A completed {pairs_a:.0f} pairs over {rebalances:.0f} assignments")
    print(f"B paused -> killed {killed_at - paused_at:.1f}s; B killed -> first wrap-up on "
          f"B's partitions {first_on_b - killed_at:.1f}s; runtime "
          f"{time.monotonic() - began:.1f}s")
    assert all(never[p] is None for p in b_parts), never  # really never committed
    assert len(on_b) >= 20
    assert pairs_a >= len(expect.eligible)  # A joined every pair, B's included


def test_a_live_rebalance_onto_never_committed_partitions_starts_them_at_the_earliest_offset(
    kafka_bootstrap: str, topic_factory: TopicFactory, workers: Workers, tmp_path: Path,
) -> None:
    """Traffic keeps flowing (~12 s) through B's silence, its death and the takeover."""
    topic = topic_factory(partitions=PARTITIONS)
    workload = make_workload(300, seed=51, rate=25.0, agent_pick_probability=0.0,
                             lost_fraction=0.02, duplicate_fraction=0.05)
    run_takeover(kafka_bootstrap, topic, workers, tmp_path, workload, quiet=False)


def test_a_live_rebalance_onto_never_committed_partitions_with_no_records_after_it(
    kafka_bootstrap: str, topic_factory: TopicFactory, workers: Workers, tmp_path: Path,
) -> None:
    """Every event is published (~1.5 s) before B dies; nothing is produced afterwards."""
    topic = topic_factory(partitions=PARTITIONS)
    workload = make_workload(160, seed=52, rate=120.0, agent_pick_probability=0.0,
                             lost_fraction=0.02, duplicate_fraction=0.05)
    run_takeover(kafka_bootstrap, topic, workers, tmp_path, workload, quiet=True)
