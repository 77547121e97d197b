"""Issue 15's goal table in one run: every measure next to its reference and goal.

Runs real workers (``python -m streams.cli worker`` subprocesses) against the broker of
``KAFKA_BOOTSTRAP_SERVERS`` (or a local one) and prints one table::

    measure | reference | goal | measured | met?

and draws the RSS of the worker under test and every POST's latency over the run
(``--chart``). ``--quick`` runs smaller and shorter versions of every measure (a few
minutes; figures noisier); the full run takes about 15 minutes. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import measures  # noqa: E402
from benchmarks.measures import Trace  # noqa: E402
from benchmarks.throughput import load, make_events, plain_read, worker_rate  # noqa: E402
from streams.config import kafka_security_from_env  # noqa: E402
from streams.dev.kafka import kafka_from_env  # noqa: E402
from streams.kafka.admin import TopicSpec, ensure_topics_sync  # noqa: E402


@dataclass(frozen=True)
class Row:
    measure: str
    reference: str
    goal: str
    measured: str
    met: bool | None  # None: no goal, information only


@dataclass(frozen=True)
class Plan:
    held: int
    recovery: list[int]
    rates: list[tuple[float, float]]  # (interactions/s, seconds)
    events: int
    sim_rate: float
    sim_seconds: float
    rocksdb: int


FULL = Plan(held=30_000, recovery=[100_000, 1_000_000],
            rates=[(1, 60), (10, 30), (200, 20)], events=100_000, sim_rate=500,
            sim_seconds=60, rocksdb=20_000)
QUICK = Plan(held=20_000, recovery=[100_000], rates=[(1, 15), (10, 10), (200, 10)],
             events=60_000, sim_rate=500, sim_seconds=20, rocksdb=0)


def _kib(b: float) -> str:
    return f"{b:,.0f} B" if b < 4096 else f"{b / 1024:,.1f} KB"


def memory_rows(bootstrap: str, work: Path, trace: Trace, plan: Plan) -> list[Row]:
    h = measures.held(bootstrap, work, trace, plan.held)
    rows = [
        Row(f"RSS per held interaction, live ({plan.held:,} joined)", "~9 KB", "<= 500 B",
            _kib(h.per_interaction), h.per_interaction <= 500),
        Row("changelog records per interaction (written)", "~3", "fewer",
            f"{h.changelog_records / h.n:.2f}", None),
        Row(f"load: events/s joined and POSTed ({2 * h.n:,} events)", "-", "-",
            f"{2 * h.n / h.seconds:,.0f}", None),
        Row(f"takeover of those {h.n:,} from the changelog as written (read "
            f"{h.restart_read:.1f} s + index {h.restart_index:.1f} s; ready "
            f"{h.restart_ready:.1f} s, empty {h.empty_ready:.1f} s)", "~3,900 states/s",
            ">= 33,000 states/s", f"{h.restart_rate:,.0f} states/s", h.restart_rate >= 33_000),
        Row("RSS per interaction after that takeover", "~1.8 KB", "<= 500 B",
            _kib((h.restart_mib - h.idle_mib) * 1048576 / h.n),
            (h.restart_mib - h.idle_mib) * 1048576 / h.n <= 500),
    ]
    if plan.rocksdb:
        r = measures.held(bootstrap, work, trace, plan.rocksdb, store="rocksdb")
        rows.append(Row(f"RocksDB store: RSS per held interaction ({r.n:,})", "not measured",
                        "report", f"{_kib(r.per_interaction)} (memory store "
                        f"{_kib(h.per_interaction)})", None))
    return rows


def recovery_rows(bootstrap: str, work: Path, trace: Trace, plan: Plan) -> list[Row]:
    rows = []
    for r in measures.recovery(bootstrap, work, trace, plan.recovery):
        rows.append(Row(f"recovery rate, {r.n:,} states (read {r.read_seconds:.1f} s + index "
                        f"{r.index_seconds:.1f} s; ready {r.seconds:.1f} s, empty "
                        f"{r.empty_seconds:.1f} s)", "~3,900 states/s",
                        ">= 33,000 states/s", f"{r.rate:,.0f} states/s", r.rate >= 33_000))
        rows.append(Row(f"RSS per interaction after recovering {r.n:,}", "~1.8 KB", "<= 500 B",
                        _kib((r.rss_mib - r.idle_mib) * 1048576 / r.n),
                        (r.rss_mib - r.idle_mib) * 1048576 / r.n <= 500))
    return rows


def latency_rows(bootstrap: str, work: Path, trace: Trace, plan: Plan) -> list[Row]:
    rows = []
    for lat in measures.latency(bootstrap, work, trace, plan.rates):
        rows.append(Row(f"2nd event appended -> POST sent at {lat.rate:g}/s "
                        f"({len(lat.samples)} POSTs)", "p50 ~160 ms, p99 ~1.5 s",
                        "p99 <= 50 ms", f"p50 {lat.pct(0.5):.1f} ms, p99 {lat.pct(0.99):.1f} ms",
                        lat.pct(0.99) <= 50))
    return rows


def throughput_rows(bootstrap: str, work: Path, plan: Plan) -> list[Row]:
    topic = f"bench-throughput-{uuid.uuid4().hex[:8]}"
    ensure_topics_sync(bootstrap, [TopicSpec(topic, 4)], security=kafka_security_from_env())
    records = make_events(plan.events)
    asyncio.run(load(bootstrap, topic, records))
    plain = sorted(len(records) / asyncio.run(plain_read(bootstrap, topic, len(records)))
                   for _ in range(3))
    rate, _seconds = worker_rate(bootstrap, topic, len(records), work)
    ratio = rate / plain[1]
    return [Row(f"worker events/s / plain read + parse ({len(records):,} events)", "0.007x",
                ">= 0.1x", f"{ratio:.3f}x ({rate:,.0f} / {plain[1]:,.0f} ev/s)", ratio >= 0.1)]


def sim_rows(bootstrap: str, plan: Plan) -> list[Row]:
    from streams.dev.simulator.compare import RunOptions, WorkerConsumer, run_side
    from streams.dev.simulator.distributions import fixed
    from streams.dev.simulator.workload import WorkloadParams, generate

    n = int(plan.sim_rate * plan.sim_seconds)
    params = WorkloadParams(interactions=n, rate=plan.sim_rate, agents=max(50, n // 20),
                            bridge_delay=fixed(0.0))
    consumer = WorkerConsumer({"WRAPUP_API_RATE_LIMIT": "5000", "WRAPUP_LOG_LEVEL": "WARNING",
                               "WRAPUP_TICK_INTERVAL_SECONDS": "5",
                               "WRAPUP_MAX_IN_FLIGHT": "256"})
    run = asyncio.run(run_side("worker", consumer, generate(params), bootstrap,
                               RunOptions(extra_timeout=120.0)))
    rep = run.report
    p99 = rep.latency_p99 if rep.latency_p99 is not None else float("inf")
    held = run.completed and rep.unwrapped == 0 and p99 <= 0.1
    return [Row(f"simulate run {plan.sim_rate:g}/s for {plan.sim_seconds:g} s: wrapping-up "
                "-> applied", "100/s held, 300/s not", f"p99 <= 100 ms at {plan.sim_rate:g}/s",
                f"p50 {(rep.latency_p50 or 0) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
                f"{rep.applied_by_us}/{rep.in_scope} applied, {rep.unwrapped} unwrapped",
                held)]


def render(rows: list[Row]) -> str:
    head = ("measure", "reference", "goal", "measured", "met?")
    cells = [head] + [(r.measure, r.reference, r.goal, r.measured,
                       "-" if r.met is None else ("yes" if r.met else "NO")) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    lines = [" | ".join(c[i].ljust(widths[i]) for i in range(5)) for c in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def chart(trace: Trace, path: Path) -> None:
    try:
        from matplotlib import pyplot as plt
    except ImportError:
        print("(no chart: matplotlib is not installed; pip install -e '.[charts]')")
        return
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 7), sharex=True)
    for label in dict.fromkeys(lbl for _t, _v, lbl in trace.rss):
        pts = [(t, v) for t, v, lbl in trace.rss if lbl == label]
        top.plot([p[0] for p in pts], [p[1] for p in pts], label=label)
    top.set_ylabel("worker RSS (MiB)")
    top.legend(fontsize=7, ncol=4)
    for label in dict.fromkeys(lbl for _t, _v, lbl in trace.latency):
        pts = [(t, v) for t, v, lbl in trace.latency if lbl == label]
        bottom.scatter([p[0] for p in pts], [p[1] for p in pts], s=4, label=label)
    bottom.axhline(50, color="red", linewidth=0.8, linestyle="--", label="goal p99 50 ms")
    bottom.set_yscale("log")
    bottom.set_ylabel("2nd event -> POST (ms)")
    bottom.set_xlabel("seconds since the start of the run")
    bottom.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    print(f"chart: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller, shorter measures")
    parser.add_argument("--only", default="memory,recovery,latency,throughput,simulate",
                        help="comma-separated subset of the measures")
    parser.add_argument("--chart", type=Path, default=REPO / "benchmarks" / "results" / "all.png")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    only = {s.strip() for s in args.only.split(",")}
    rows: list[Row] = []
    trace = Trace()
    trace.start()
    load0, began = os.getloadavg()[0], time.monotonic()
    with kafka_from_env() as bootstrap, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        steps = [("memory", lambda: memory_rows(bootstrap, work, trace, plan)),
                 ("recovery", lambda: recovery_rows(bootstrap, work, trace, plan)),
                 ("latency", lambda: latency_rows(bootstrap, work, trace, plan)),
                 ("throughput", lambda: throughput_rows(bootstrap, work, plan)),
                 ("simulate", lambda: sim_rows(bootstrap, plan))]
        for name, step in steps:
            if name in only:
                print(f"[{time.monotonic() - began:5.0f}s] {name} ...", flush=True)
                trace.follow(None, name)
                rows += step()
    trace.stop()
    print()
    print(render(rows))
    print(f"\n{'quick' if args.quick else 'full'} run, {time.monotonic() - began:.0f} s; "
          f"load average {load0:.2f} at the start, {os.getloadavg()[0]:.2f} at the end "
          f"({os.cpu_count()} CPUs); single runs except the plain-read reference (median of 3)")
    chart(trace, args.chart)


if __name__ == "__main__":
    main()
