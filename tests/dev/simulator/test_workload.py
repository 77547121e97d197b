"""The generated plan: deterministic, shaped as configured, consistent with the scenario."""

from __future__ import annotations

import statistics

import pytest

from streams.dev.simulator.distributions import Distribution, fixed, lognormal
from streams.dev.simulator.workload import WorkloadParams, generate


def test_same_seed_same_plan_and_different_seed_different_plan() -> None:
    params = WorkloadParams(interactions=200, seed=7)
    assert generate(params) == generate(params)
    assert generate(params).interactions != generate(WorkloadParams(200, seed=8)).interactions


def test_default_transition_is_lognormal_with_median_about_1s_and_tail_to_10s() -> None:
    plan = generate(WorkloadParams(interactions=4000, seed=1))
    delays = sorted(p.transition for p in plan.interactions)
    assert 0.9 < statistics.median(delays) < 1.1
    assert max(delays) <= 10.0
    assert delays[int(0.99 * len(delays))] > 4.0
    # The baseline's fixed 2.5 s is too short for roughly one interaction in nine.
    late = sum(d > 2.5 for d in delays) / len(delays)
    assert 0.07 < late < 0.16


def test_plan_is_consistent_with_the_scenario() -> None:
    plan = generate(WorkloadParams(interactions=500, seed=3, agents=7))
    scenario = plan.scenario
    ends = [p.ended_at for p in plan.interactions]
    assert ends == sorted(ends)
    assert {p.agent_id for p in plan.interactions} <= {f"agent-{k:03d}" for k in range(7)}
    assert 0 < len(plan.in_scope()) < len(plan.interactions)
    for p in plan.interactions:
        campaign = next(c for c in scenario.campaigns if c.id == p.campaign_id)
        assert p.queue_id in campaign.queues
        assert p.created_at <= p.ended_at <= p.wrapping_up_at <= p.acw_deadline
        valid = scenario.valid_codes(p.queue_id)
        assert p.expected_code is None or p.expected_code.id in valid
        assert p.agent_code is None or p.agent_code.id in valid
        assert p.expected_code == scenario.policy.resolve(p.campaign_id, p.queue_id)


def test_rate_and_fault_fractions_are_respected() -> None:
    params = WorkloadParams(
        interactions=2000, rate=50.0, seed=5, duplicate_fraction=0.1, lost_fraction=0.2,
        reorder_fraction=0.3, agent_pick_probability=0.5,
    )
    plan = generate(params)
    last = plan.interactions[-1].ended_at
    assert 2000 / 50 * 0.9 < last < 2000 / 50 * 1.1
    events = [e for p in plan.interactions
              for e in (p.ended_event, p.wrapping_up_event, p.wrapped_event)]
    assert 0.08 < sum(e.duplicates for e in events) / len(events) < 0.12
    assert 0.17 < sum(e.lost for e in events) / len(events) < 0.23
    reordered = sum(p.ended_event.delay > p.transition + p.wrapping_up_event.delay
                    for p in plan.interactions)
    assert 0.25 < reordered / 2000 < 0.35
    picks = sum(p.agent_pick_after is not None for p in plan.interactions)
    assert 0.45 < picks / 2000 < 0.55


def test_timeline_scales_with_speed() -> None:
    p = generate(WorkloadParams(interactions=1, seed=2, transition=fixed(2.0))).interactions[0]
    t = p.timeline(1000.0, speed=4.0)
    assert t.ended_at == pytest.approx(1000.0 + p.ended_at / 4)
    assert t.wrapping_up_at - t.ended_at == pytest.approx(0.5)


def test_distribution_parse_and_validation() -> None:
    assert Distribution.parse("lognormal:1:0.75:10") == lognormal(1, 0.75, 10)
    assert Distribution.parse("fixed:2.5") == fixed(2.5)
    with pytest.raises(ValueError):
        Distribution.parse("gamma:1")
    with pytest.raises(ValueError):
        WorkloadParams(lost_fraction=1.5)
