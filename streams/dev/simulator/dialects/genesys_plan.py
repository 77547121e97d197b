"""The Genesys mode's workload: conversations of one or two agent legs (transfers).

From the generic plan (:func:`~streams.dev.simulator.workload.generate`: arrivals, queues,
talk times, transitions, ACW timeouts, agent picks, bridge faults), each interaction
becomes a conversation: one agent leg, or — for ``transfer_fraction`` of them — two, A
then B, A's call ending at the transfer (B joins then, on another queue, with its own
transition, ACW and agent pick). ``not_required_fraction`` of conversations also show an
agent participant with ``wrapupRequired`` false (it needs nothing and is never
registered). Each leg is a planned entry keyed ``conversation/participant``; the policy
is by queue (Genesys events carry no campaign), so each leg's code is its own queue's.
Pure and deterministic: same seed and parameters, same plan.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import replace

from streams.dev.simulator.scenario import Campaign, Queue, Scenario, _codes
from streams.dev.simulator.workload import (
    LegPlan,
    PlannedInteraction,
    Workload,
    WorkloadParams,
    generate,
    sample_fault,
)
from streams.events import leg_key
from streams.policy import Rule, WrapupCode

TIMEOUT_CODE = WrapupCode("ININ-WRAP-UP-TIMEOUT", "ININ-WRAP-UP-TIMEOUT")
_NAMESPACE = uuid.UUID("0b8f3c52-7a1e-4c59-9d53-6f1f0c1d2e3a")


def genesys_scenario() -> Scenario:
    """The default scenario's campaigns and queues, with a policy by queue (q-support out
    of scope) and the platform's own timeout code."""
    return Scenario(
        campaigns=(
            Campaign("c-renewals", ("q-sales", "q-retention"), weight=4),
            Campaign("c-collections", ("q-billing",), weight=3),
            Campaign("c-promo", ("q-sales", "q-support"), weight=2),
        ),
        queues=(
            Queue("q-sales", _codes("sales", "Sale", "No sale", "Callback")),
            Queue("q-retention", _codes("retention", "Retained", "Churned")),
            Queue("q-billing", _codes("billing", "Paid", "Promise to pay", "Dispute")),
            Queue("q-support", _codes("support", "Resolved", "Escalated")),
        ),
        rules=(
            Rule(WrapupCode("wc-sales-auto", "Sales - auto"), queue="q-sales"),
            Rule(WrapupCode("wc-retention-auto", "Retention - auto"), queue="q-retention"),
            Rule(WrapupCode("wc-billing", "Billing - auto"), queue="q-billing"),
        ),
        acw_timeout_code=TIMEOUT_CODE,
    )


def communication_of(key: str) -> str:
    """The communication ID of a leg (derived from its key: the server checks it)."""
    return str(uuid.uuid5(_NAMESPACE, key))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def plan_legs(params: WorkloadParams, scenario: Scenario | None = None, *,
              transfer_fraction: float = 0.3, not_required_fraction: float = 0.1) -> Workload:
    """The per-leg plan (see the module docstring)."""
    if not (0 <= transfer_fraction <= 1 and 0 <= not_required_fraction <= 1):
        raise ValueError("transfer_fraction and not_required_fraction must be within 0..1")
    scenario = scenario or genesys_scenario()
    base = generate(params, scenario)
    policy = scenario.policy
    legs: list[PlannedInteraction] = []
    for index, p in enumerate(base.interactions):
        rng = random.Random(f"{params.seed}:genesys:{index}")
        conversation, customer = _uuid(rng), _uuid(rng)
        first, second = _uuid(rng), _uuid(rng)
        transfer = rng.random() < transfer_fraction
        silent: tuple[tuple[str, str, str], ...] = ()
        if rng.random() < not_required_fraction:
            silent = ((_uuid(rng), f"agent-{rng.randrange(params.agents):03d}", p.queue_id),)
        keys = [leg_key(conversation, first)] + ([leg_key(conversation, second)] if transfer
                                                 else [])
        entries = [p]
        if transfer:
            cut = p.created_at + (p.ended_at - p.created_at) * rng.uniform(0.3, 0.7)
            other = rng.choice([q for q in scenario.queues if q.id != p.queue_id])
            picks = rng.random() < params.agent_pick_probability
            faults = [sample_fault(rng, params) for _ in range(3)]
            entries = [
                replace(p, ended_at=cut),
                replace(p, agent_id=f"agent-{rng.randrange(params.agents):03d}",
                        queue_id=other.id, created_at=cut,
                        transition=params.transition.sample(rng),
                        acw_timeout=params.acw_timeout.sample(rng),
                        agent_pick_after=params.agent_pick_delay.sample(rng) if picks else None,
                        agent_code=rng.choice(other.agent_codes) if picks else None,
                        ended_event=faults[0], wrapping_up_event=faults[1],
                        wrapped_event=faults[2]),
            ]
        for key, entry in zip(keys, entries, strict=True):
            participant = key.rpartition("/")[2]
            legs.append(replace(
                entry, interaction_id=key,
                expected_code=policy.resolve(None, entry.queue_id),
                leg=LegPlan(conversation, participant, communication_of(key), "calls",
                            customer, tuple(keys), silent)))
    legs.sort(key=lambda leg: leg.ended_at)
    return Workload(params, scenario, tuple(legs))
