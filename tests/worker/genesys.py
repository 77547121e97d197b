"""The Genesys end-to-end harness: the simulator in Genesys mode and a worker configured
for it (``WRAPUP_PLATFORM=genesys``, OAuth client credentials at the simulator's login
path), and the per-leg checks the tests share."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.dev.simulator.dialects.genesys import GenesysDialect
from streams.dev.simulator.distributions import fixed
from streams.dev.simulator.platform import AuthConfig, Platform
from streams.dev.simulator.workload import PlannedInteraction, Workload, WorkloadParams
from streams.policy import Policy
from tests.helpers import wait_for
from tests.worker.fixtures import WorkerProcess, worker_env
from tests.worker.simulated import Expectation, Simulator, Tail, Verdict, judge, unsettled

SETTLE_TIMEOUT = 120.0
Start = Callable[[dict[str, str]], WorkerProcess]


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Start]:
    """``start_worker(env) -> WorkerProcess`` once ready; all are killed afterwards."""
    started: list[WorkerProcess] = []

    def start(env: dict[str, str]) -> WorkerProcess:
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log").start()
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.kill()


def params(conversations: int, **changes: Any) -> WorkloadParams:
    """Real-time durations: 2 s calls, 0.3 s to ACW, 30 s of ACW, 8 conversations/s."""
    base = WorkloadParams(interactions=conversations, rate=8.0, agents=20, seed=21,
                          talk=fixed(2.0), transition=fixed(0.3), acw_timeout=fixed(30.0),
                          agent_pick_probability=0.0, bridge_delay=fixed(0.02),
                          duplicate_fraction=0.05, reorder_fraction=0.05)
    return replace(base, **changes)


def auth() -> AuthConfig:
    return AuthConfig("gc-sim-client", secrets.token_urlsafe(18))


def genesys_env(bootstrap: str, topic: str, sim: Simulator, dialect: GenesysDialect,
                data_dir: Path, **overrides: str) -> dict[str, str]:
    """A worker environment for the Genesys profile against ``sim``."""
    env = worker_env(bootstrap, topic, sim.base_url, data_dir)
    del env["WRAPUP_API_TOKEN"]  # client credentials instead, Basic auth at the login path
    env.update(dialect.worker_env(sim.base_url, sim.platform.auth))
    env["WRAPUP_POLICY_JSON"] = orjson.dumps(sim.workload.scenario.policy_document()).decode()
    env["WRAPUP_API_TIMEOUT_SECONDS"] = "2"
    env.update(overrides)
    return env


def expectation(workload: Workload) -> Expectation:
    return Expectation.of(workload, Policy.from_json(workload.scenario.policy_json()))


def settle(sim: Simulator, expect: Expectation, outcomes: Tail,
           workers: list[WorkerProcess]) -> Verdict:
    """Wait until every eligible leg is wrapped and has an outcome; judge (no violation)."""
    def done() -> bool:
        assert sim.bridge_error() is None, sim.bridge_error()
        for w in workers:
            assert w.proc is not None and w.proc.poll() is None, w.log_tail()
        return not sim.call(unsettled(expect, outcomes))
    try:
        wait_for(done, timeout=SETTLE_TIMEOUT, interval=0.5, message="all outcomes")
    except AssertionError:
        left = sim.call(unsettled(expect, outcomes))
        raise AssertionError(f"{len(left)} unsettled, e.g. {left[:5]}; "
                             f"{sim.call(judge(expect, outcomes)).line()}\n"
                             f"{workers[0].log_tail()}") from None
    verdict = sim.call(judge(expect, outcomes))
    print(verdict.line())
    assert verdict.violations == [], verdict.violations[:10]
    return verdict


def leg_checks(p: Platform, workload: Workload) -> dict[str, Any]:
    """Per-leg facts from the ledger: applied requests per leg, wraps outside ACW,
    requests naming a participant that needs no wrap-up, request methods."""
    ledger = p.ledger
    applied: dict[str, int] = {}
    for r in ledger.posts():
        if r.reason == "applied" and r.interaction_id:
            applied[r.interaction_id] = applied.get(r.interaction_id, 0) + 1
    outside = [w.interaction_id for w in ledger.wrapups.values()
               if w.by == "api" and not (p.lifecycle(w.interaction_id).timeline.wrapping_up_at
                                         <= w.at <= p.lifecycle(w.interaction_id)
                                         .timeline.acw_deadline)]
    silent = {s[0] for leg in workload.interactions if leg.leg for s in leg.leg.silent}
    touched_silent = [r.path for r in ledger.requests if any(s in r.path for s in silent)]
    return {"applied": applied, "outside_acw": outside, "silent": silent,
            "touched_silent": touched_silent,
            "methods": sorted({r.method for r in ledger.posts()}),
            "not_ready": ledger.count(reason="not_ready"),
            "rate_limited": ledger.count(reason="rate_limited")}


def conversations(workload: Workload) -> dict[str, list[PlannedInteraction]]:
    out: dict[str, list[PlannedInteraction]] = {}
    for leg in workload.interactions:
        assert leg.leg is not None
        out.setdefault(leg.leg.conversation_id, []).append(leg)
    return out
