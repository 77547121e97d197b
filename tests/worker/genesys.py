"""The Genesys end-to-end harness: the simulator in Genesys mode and a worker configured
for it (``WRAPUP_PLATFORM=genesys``, OAuth client credentials at the simulator's login
path), and the per-leg checks the tests share."""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from streams.dev.simulator.dialects.genesys import GenesysDialect
from streams.dev.simulator.distributions import fixed
from streams.dev.simulator.platform import AuthConfig, Platform
from streams.dev.simulator.workload import PlannedInteraction, Workload, WorkloadParams
from streams.policy import Policy
from tests.worker.fixtures import WorkerProcess, worker_env
from tests.worker.simulated import Expectation, Simulator, Tail, Verdict
from tests.worker.simulated import settle as settle_all

SETTLE_TIMEOUT = 120.0
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
    return settle_all(sim, expect, outcomes, workers, timeout=SETTLE_TIMEOUT)


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
