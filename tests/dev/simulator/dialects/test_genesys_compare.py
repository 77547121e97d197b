"""``simulate compare`` in Genesys mode, on the real broker: the worker collects no
not-ready 409 and sends one wrap-up request per applied leg; the baseline (the product's
Genesys reading, a fixed delay after ended) does collect them on slow transitions."""

from __future__ import annotations

from streams.dev.simulator.compare import BaselineConsumer, RunOptions, WorkerConsumer, run_side
from streams.dev.simulator.dialects.genesys import GenesysDialect
from streams.dev.simulator.distributions import Distribution, fixed
from streams.dev.simulator.report import render
from streams.dev.simulator.workload import WorkloadParams


async def test_compare_in_genesys_mode(kafka_bootstrap: str) -> None:
    dialect = GenesysDialect(transfer_fraction=0.4, not_required_fraction=0.2)
    workload = dialect.plan(WorkloadParams(
        interactions=24, seed=9, rate=3.0, agent_pick_probability=0.0, talk=fixed(2.0),
        transition=Distribution("uniform", 3.0, low=0.5),  # 0.5 .. 5.5 s: many > 2.5 s
        acw_timeout=fixed(12.0), duplicate_fraction=0.1, reorder_fraction=0.1))
    options = RunOptions(speed=1.0, partitions=2, extra_timeout=30.0, dialect=dialect)
    worker = await run_side("worker", WorkerConsumer(), workload, kafka_bootstrap, options)
    baseline = await run_side("baseline", BaselineConsumer(2.5), workload, kafka_bootstrap,
                              options)
    table = render([baseline.report, worker.report])
    print(table)
    w, b = worker.report, baseline.report
    assert worker.completed, table
    assert w.not_ready_409 == 0 and w.applied_by_us == w.in_scope == len(workload.in_scope())
    assert w.wrapup_requests == w.applied_by_us and w.max_applied_per_interaction == 1
    assert w.wrong_code == w.applied_out_of_scope == w.unwrapped == 0
    assert b.not_ready_409 > 0 and b.applied_by_us < b.in_scope  # what the join avoids
    assert b.max_applied_per_interaction == 1
