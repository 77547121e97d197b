"""The deterministic plan of a simulation: which interactions, when, and what goes wrong.

From a seed and :class:`WorkloadParams`, :func:`generate` produces every interaction's
agent, campaign and queue, its ended time, platform transition delay, whether and when
the agent picks a code, its ACW timeout, and the bridge's behaviour for each of its
events (delay, duplicates, loss, reordering). Times are *simulation* seconds from the
start; the bridge divides them by its speed factor. Same seed and parameters, same plan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from streams.dev.simulator.distributions import Distribution, fixed, lognormal
from streams.dev.simulator.lifecycle import Timeline
from streams.dev.simulator.scenario import Scenario, default_scenario
from streams.policy import WrapupCode


@dataclass(frozen=True, slots=True)
class EventFault:
    """How the bridge delivers one event: after ``delay`` s, ``duplicates`` extra copies,
    or not at all."""

    delay: float
    duplicates: int = 0
    lost: bool = False


@dataclass(frozen=True, slots=True)
class LegPlan:
    """Where a leg sits in its conversation, for a per-leg dialect (Genesys): the planned
    entry's ``interaction_id`` is then the leg key ``conversation/participant``."""

    conversation_id: str
    participant_id: str
    communication_id: str
    media: str = "calls"
    customer_id: str = ""
    siblings: tuple[str, ...] = ()  # the conversation's leg keys in order (this one too)
    silent: tuple[tuple[str, str, str], ...] = ()  # (participant, user, queue): agent
    # participants that need no wrap-up (shown in the payloads, never registered)


@dataclass(frozen=True, slots=True)
class PlannedInteraction:
    """One interaction of the plan (times in simulation seconds from the start); for a
    per-leg dialect, one leg (``leg`` set)."""

    interaction_id: str
    agent_id: str
    campaign_id: str
    queue_id: str
    created_at: float
    ended_at: float
    transition: float
    acw_timeout: float
    agent_pick_after: float | None
    agent_code: WrapupCode | None
    expected_code: WrapupCode | None
    ended_event: EventFault
    wrapping_up_event: EventFault
    wrapped_event: EventFault
    leg: LegPlan | None = None

    @property
    def in_scope(self) -> bool:
        return self.expected_code is not None

    @property
    def wrapping_up_at(self) -> float:
        return self.ended_at + self.transition

    @property
    def acw_deadline(self) -> float:
        return self.wrapping_up_at + self.acw_timeout

    @property
    def agent_wrap_at(self) -> float | None:
        if self.agent_pick_after is None:
            return None
        return self.wrapping_up_at + self.agent_pick_after

    def timeline(self, t0: float, speed: float = 1.0) -> Timeline:
        """Absolute clock times for the platform: ``t0 + sim / speed``."""

        def at(sim: float) -> float:
            return t0 + sim / speed

        agent_at = self.agent_wrap_at
        return Timeline(
            created_at=at(self.created_at),
            ended_at=at(self.ended_at),
            wrapping_up_at=at(self.wrapping_up_at),
            acw_deadline=at(self.acw_deadline),
            agent_wrap_at=None if agent_at is None else at(agent_at),
            agent_code=self.agent_code,
        )


@dataclass(frozen=True, slots=True)
class WorkloadParams:
    """Knobs of the generated workload; defaults are the issue's realistic settings."""

    interactions: int = 2000
    rate: float = 25.0  # interactions ending per simulated second (Poisson)
    agents: int = 50
    seed: int = 7
    transition: Distribution = field(default_factory=lambda: lognormal(1.0, 0.75, 10.0))
    talk: Distribution = field(default_factory=lambda: lognormal(60.0, 0.5, 600.0))
    acw_timeout: Distribution = field(default_factory=lambda: fixed(30.0))
    agent_pick_probability: float = 0.2
    agent_pick_delay: Distribution = field(default_factory=lambda: lognormal(8.0, 0.6, 60.0))
    bridge_delay: Distribution = field(default_factory=lambda: lognormal(0.05, 0.5, 2.0))
    duplicate_fraction: float = 0.01
    lost_fraction: float = 0.0
    reorder_fraction: float = 0.01

    def __post_init__(self) -> None:
        if self.interactions < 0 or self.agents < 1 or self.rate <= 0:
            raise ValueError("interactions >= 0, agents >= 1 and rate > 0 are required")
        for name in ("agent_pick_probability", "duplicate_fraction", "lost_fraction",
                     "reorder_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {value}")


@dataclass(frozen=True, slots=True)
class Workload:
    """A generated plan: the parameters, the scenario and the interactions in end order."""

    params: WorkloadParams
    scenario: Scenario
    interactions: tuple[PlannedInteraction, ...]

    @property
    def duration(self) -> float:
        """Simulated seconds until the last interaction is certainly wrapped."""
        return max((p.acw_deadline for p in self.interactions), default=0.0)

    def by_id(self) -> dict[str, PlannedInteraction]:
        return {p.interaction_id: p for p in self.interactions}

    def in_scope(self) -> list[PlannedInteraction]:
        return [p for p in self.interactions if p.in_scope]


def generate(params: WorkloadParams, scenario: Scenario | None = None) -> Workload:
    """The plan for ``params`` (pure: same input, same output)."""
    scenario = scenario or default_scenario()
    policy = scenario.policy
    arrivals = random.Random(f"{params.seed}:arrivals")
    weights = [c.weight for c in scenario.campaigns]
    planned: list[PlannedInteraction] = []
    now = 0.0
    for index in range(params.interactions):
        now += arrivals.expovariate(params.rate)
        rng = random.Random(f"{params.seed}:interaction:{index}")
        campaign = rng.choices(scenario.campaigns, weights)[0]
        queue = scenario.queue(rng.choice(campaign.queues))
        talk = params.talk.sample(rng)
        transition = params.transition.sample(rng)
        acw_timeout = params.acw_timeout.sample(rng)
        picks = rng.random() < params.agent_pick_probability
        pick_after = params.agent_pick_delay.sample(rng)
        agent_code = rng.choice(queue.agent_codes)
        events = [sample_fault(rng, params) for _ in range(3)]
        if rng.random() < params.reorder_fraction:
            # Hold ``ended`` back until after ``wrapping-up`` has been published.
            late = transition + events[1].delay + max(0.05, events[0].delay)
            events[0] = EventFault(late, events[0].duplicates, events[0].lost)
        planned.append(
            PlannedInteraction(
                interaction_id=f"ix-{params.seed}-{index:05d}",
                agent_id=f"agent-{rng.randrange(params.agents):03d}",
                campaign_id=campaign.id,
                queue_id=queue.id,
                created_at=max(0.0, now - talk),
                ended_at=now,
                transition=transition,
                acw_timeout=acw_timeout,
                agent_pick_after=pick_after if picks else None,
                agent_code=agent_code if picks else None,
                expected_code=policy.resolve(campaign.id, queue.id),
                ended_event=events[0],
                wrapping_up_event=events[1],
                wrapped_event=events[2],
            )
        )
    return Workload(params, scenario, tuple(planned))


def sample_fault(rng: random.Random, params: WorkloadParams) -> EventFault:
    """How the bridge delivers one event, drawn from ``params``."""
    delay = params.bridge_delay.sample(rng)
    duplicates = 1 if rng.random() < params.duplicate_fraction else 0
    lost = rng.random() < params.lost_fraction
    return EventFault(delay, duplicates, lost)
