"""The seed's approach against the simulator: not-ready 409s when the transition is slow."""

from __future__ import annotations

from streams.dev.simulator.compare import BaselineConsumer, RunOptions, run_side
from streams.dev.simulator.distributions import Distribution, fixed
from streams.dev.simulator.report import render
from streams.dev.simulator.workload import WorkloadParams, generate

SPEED = 4.0
DELAY = 2.5  # simulated seconds: 0.625 s real


async def test_baseline_collects_not_ready_409s_only_for_slow_transitions(
    kafka_bootstrap: str,
) -> None:
    workload = generate(WorkloadParams(
        interactions=40, seed=21, rate=25.0, agent_pick_probability=0.0,
        transition=Distribution("uniform", 4.0, low=0.1),  # 0.1 .. 7.9 s
        acw_timeout=fixed(10.0), duplicate_fraction=0.0, reorder_fraction=0.0))
    consumer = BaselineConsumer(DELAY)
    run = await run_side("baseline", consumer, workload, kafka_bootstrap,
                         RunOptions(speed=SPEED, partitions=2, progress_every=1.0,
                                    extra_timeout=20.0))
    assert run.completed, run.bridge_stats
    ledger, report = run.platform.ledger, run.report
    plan = workload.by_id()
    not_ready = {r.interaction_id for r in ledger.posts() if r.reason == "not_ready"}
    assert report.not_ready_409 == len(not_ready) > 0, render([report])
    # The baseline would have to be over a second late to miss these.
    clearly_slow = [p for p in workload.in_scope() if p.transition > 7.0]
    assert clearly_slow and {p.interaction_id for p in clearly_slow} <= not_ready
    for iid in not_ready:
        assert plan[iid].transition > DELAY  # the POST came before wrapping-up
        assert len(ledger.posts(iid)) == 1  # ... and the baseline gave up
        wrap = ledger.wrapup(iid)
        assert wrap is not None and wrap.by == "platform"  # left to the ACW timeout
    fast = [p for p in workload.in_scope() if p.transition < DELAY * 0.8]
    assert fast
    for p in fast:
        wrap = ledger.wrapup(p.interaction_id)
        assert wrap is not None and wrap.by == "api"
        assert p.expected_code is not None and wrap.code_id == p.expected_code.id
    assert report.applied_out_of_scope == 0 and report.max_applied_per_interaction == 1
    assert report.not_ready_slow_transition == report.not_ready_409
    assert report.left_to_acw == len(not_ready)
    table = render([report])
    assert "409 not ready" in table and str(report.not_ready_409) in table
