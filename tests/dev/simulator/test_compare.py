"""The comparison: pure judging from a ledger, and the real worker against the simulator."""

from __future__ import annotations

from streams.dev.simulator.compare import RunOptions, WorkerConsumer, run_side
from streams.dev.simulator.distributions import Distribution, fixed
from streams.dev.simulator.ledger import Ledger, RequestRecord, WrapupRecord
from streams.dev.simulator.report import judge, percentile, render
from streams.dev.simulator.workload import WorkloadParams, generate

PATH = "/api/v2/conversations/interactions/{}/wrapup"


def test_judge_counts_from_the_ledger() -> None:
    workload = generate(WorkloadParams(interactions=3, seed=4))
    a, b, _ = workload.interactions
    ledger = Ledger()
    for plan, reason, status in ((a, "not_ready", 409), (a, "applied", 200),
                                 (b, "already_wrapped", 409)):
        ledger.record_request(RequestRecord(1.0, "POST", PATH.format(plan.interaction_id),
                                            status, reason, plan.interaction_id))
    ledger.record_request(RequestRecord(1.0, "POST", "/oauth/token", 200, "token_issued"))
    code = a.expected_code.id if a.expected_code else "wc-x"
    ledger.record_wrapup(WrapupRecord(a.interaction_id, code, "x", "api", 10.5, "wrapping-up",
                                      10.0))
    ledger.record_wrapup(WrapupRecord(b.interaction_id, "wc-y", "y", "agent", 12.0,
                                      "wrapping-up", 10.0))
    report = judge("t", workload, ledger, speed=2.0, baseline_delay=0.0)
    assert (report.applied_by_us, report.not_ready_409, report.already_wrapped_409) == (1, 1, 1)
    assert report.not_ready_slow_transition == 1
    assert (report.api_calls, report.token_calls) == (3, 1)
    assert report.calls_per_applied == 3.0
    assert report.latency_p50 == 1.0  # 0.5 s real at speed 2
    assert report.max_applied_per_interaction == 1
    assert "409 already wrapped" in render([report, report])
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0 and percentile([], 99) is None


async def test_the_worker_collects_no_not_ready_409s(kafka_bootstrap: str) -> None:
    workload = generate(WorkloadParams(
        interactions=30, seed=9, rate=10.0, agent_pick_probability=0.0,
        transition=Distribution("uniform", 3.0, low=0.5),  # 0.5 .. 5.5 s: many > 2.5 s
        acw_timeout=fixed(30.0), duplicate_fraction=0.1, reorder_fraction=0.1))
    run = await run_side("worker", WorkerConsumer(), workload, kafka_bootstrap,
                         RunOptions(speed=2.0, partitions=2, extra_timeout=30.0))
    report = run.report
    assert run.completed, render([report])
    assert report.not_ready_409 == 0, render([report])
    assert report.applied_by_us == report.in_scope == len(workload.in_scope())
    assert report.wrong_code == report.applied_out_of_scope == 0
    assert report.max_applied_per_interaction == 1
    assert report.left_to_acw == report.left_to_agent == report.unwrapped == 0
    assert any(p.transition > 2.5 for p in workload.in_scope())


def test_api_calls_are_counted_on_any_dialects_routes() -> None:
    workload = generate(WorkloadParams(interactions=1, seed=4))
    (a,) = workload.interactions
    ledger = Ledger()
    task = f"/v1/Workspaces/WS{'5a' * 16}/Tasks/{a.interaction_id}"
    for method, status, reason in (("POST", 503, "injected_error"), ("POST", 200, "applied"),
                                   ("GET", 200, "ok")):
        ledger.record_request(RequestRecord(1.0, method, task, status, reason,
                                            a.interaction_id))
    report = judge("t", workload, ledger, speed=1.0, baseline_delay=0.0)
    assert (report.api_calls, report.token_calls) == (3, 0)
    assert report.other_failures == {"injected_error": 1}
