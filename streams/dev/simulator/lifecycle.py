"""One interaction's platform state machine: pure, the clock is passed in.

    (not yet) -> active -> ended -> wrapping-up -> wrapped

``ended`` and ``wrapping-up`` begin at fixed times (the :class:`Timeline`); ``wrapped``
begins at the first of: an accepted wrap-up POST (while wrapping-up), the agent picking
a code in the UI (``agent_wrap_at``), or the ACW timeout applying the default code
(``acw_deadline``). State is derived lazily from the clock, so a request that arrives
at any instant sees exactly the state the timeline says, whether or not anyone has
"ticked" the interaction; :func:`settle` materializes due transitions for the event
bridge, each exactly once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from streams.policy import WrapupCode


class State(enum.Enum):
    """The platform's view of an interaction."""

    ABSENT = "absent"  # not created yet: the API answers 404
    ACTIVE = "active"
    ENDED = "ended"
    WRAPPING_UP = "wrapping-up"
    WRAPPED = "wrapped"


class By(enum.Enum):
    """Who set the effective wrap-up code (the ``source`` of ``interaction:wrapped``)."""

    API = "api"
    AGENT = "agent"
    PLATFORM = "platform"


class PostResult(enum.Enum):
    """What a wrap-up POST does to the interaction."""

    APPLIED = "applied"
    NOT_READY = "not_ready"  # active, or ended but not yet wrapping-up
    ALREADY_WRAPPED = "already_wrapped"
    ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class Timeline:
    """When the interaction's platform-driven transitions happen (clock seconds)."""

    created_at: float
    ended_at: float
    wrapping_up_at: float
    acw_deadline: float
    agent_wrap_at: float | None = None
    agent_code: WrapupCode | None = None

    def __post_init__(self) -> None:
        if not self.created_at <= self.ended_at <= self.wrapping_up_at <= self.acw_deadline:
            raise ValueError("timeline must satisfy created <= ended <= wrapping-up <= ACW")
        if (self.agent_wrap_at is None) != (self.agent_code is None):
            raise ValueError("agent_wrap_at and agent_code go together")
        if self.agent_wrap_at is not None and self.agent_wrap_at < self.wrapping_up_at:
            raise ValueError("the agent picks a code only once wrapping-up")


@dataclass(frozen=True, slots=True)
class Wrap:
    """The effective wrap-up: set once, never replaced."""

    code: WrapupCode
    by: By
    at: float
    state_before: State


@dataclass(frozen=True, slots=True)
class Transition:
    """A state change the bridge turns into an event (``wrap`` set for WRAPPED)."""

    state: State
    at: float
    wrap: Wrap | None = None


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """An interaction's timeline, its effective wrap-up (if any), and what was emitted."""

    timeline: Timeline
    acw_code: WrapupCode
    wrap: Wrap | None = None
    emitted: State = State.ABSENT

    def scheduled_wrap(self, now: float) -> Wrap | None:
        """The wrap the agent or the ACW timeout would have made by ``now`` (if no POST won)."""
        t = self.timeline
        agent_at, code = t.agent_wrap_at, t.agent_code
        if agent_at is not None and code is not None and agent_at <= min(now, t.acw_deadline):
            return Wrap(code, By.AGENT, agent_at, State.WRAPPING_UP)
        if t.acw_deadline <= now:
            return Wrap(self.acw_code, By.PLATFORM, t.acw_deadline, State.WRAPPING_UP)
        return None

    def effective_wrap(self, now: float) -> Wrap | None:
        """The wrap in force at ``now``: a recorded one, else a scheduled one that is due."""
        return self.wrap if self.wrap is not None else self.scheduled_wrap(now)

    def state_at(self, now: float) -> State:
        t = self.timeline
        if now < t.created_at:
            return State.ABSENT
        if now < t.ended_at:
            return State.ACTIVE
        if now < t.wrapping_up_at:
            return State.ENDED
        if self.effective_wrap(now) is not None:
            return State.WRAPPED
        return State.WRAPPING_UP

    def next_due(self) -> float | None:
        """When the next transition to emit is due (None: all emitted)."""
        t = self.timeline
        if self.emitted in (State.ABSENT, State.ACTIVE):
            return t.ended_at
        if self.emitted is State.ENDED:
            return t.wrapping_up_at
        if self.emitted is State.WRAPPING_UP:
            if self.wrap is not None:
                return self.wrap.at
            if t.agent_wrap_at is not None:
                return min(t.agent_wrap_at, t.acw_deadline)
            return t.acw_deadline
        return None


def settle(lc: Lifecycle, now: float) -> tuple[Lifecycle, list[Transition]]:
    """Record due scheduled wraps and return the transitions not yet emitted, in order."""
    if lc.wrap is None:
        due = lc.scheduled_wrap(now)
        if due is not None:
            lc = replace(lc, wrap=due)
    out: list[Transition] = []
    t = lc.timeline
    emitted = lc.emitted
    if emitted in (State.ABSENT, State.ACTIVE) and now >= t.ended_at:
        out.append(Transition(State.ENDED, t.ended_at))
        emitted = State.ENDED
    if emitted is State.ENDED and now >= t.wrapping_up_at:
        out.append(Transition(State.WRAPPING_UP, t.wrapping_up_at))
        emitted = State.WRAPPING_UP
    if emitted is State.WRAPPING_UP and lc.wrap is not None:
        out.append(Transition(State.WRAPPED, lc.wrap.at, lc.wrap))
        emitted = State.WRAPPED
    if emitted is not lc.emitted:
        lc = replace(lc, emitted=emitted)
    return lc, out


def post_wrapup(
    lc: Lifecycle, now: float, code: WrapupCode
) -> tuple[Lifecycle, PostResult, list[Transition]]:
    """Apply our POST at ``now``: accepted only while wrapping-up and not yet wrapped.

    Returns the new lifecycle, the result, and the transitions to emit (everything due up
    to ``now``, including our own ``wrapped`` when the POST was applied).
    """
    state = lc.state_at(now)
    if state is State.ABSENT:
        return lc, PostResult.ABSENT, []
    if state in (State.ACTIVE, State.ENDED):
        lc, out = settle(lc, now)
        return lc, PostResult.NOT_READY, out
    if state is State.WRAPPED:
        lc, out = settle(lc, now)
        return lc, PostResult.ALREADY_WRAPPED, out
    lc = replace(lc, wrap=Wrap(code, By.API, now, State.WRAPPING_UP))
    lc, out = settle(lc, now)
    return lc, PostResult.APPLIED, out
