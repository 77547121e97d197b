"""The join: pure decisions over one agent leg's state. No I/O, no clock, no globals.

The join's unit is the leg: states are keyed by ``Event.key`` /
``InteractionState.key`` (:func:`streams.events.leg_key`), which is the interaction ID
itself when a dialect has one leg per interaction (``leg_id`` None).

Three transitions, each ``(state | None, input, now, rules) -> Step``:

* :func:`decide` — a platform event arrived;
* :func:`record_outcome` — a final delivery report arrived (outcomes topic);
* :func:`expire` — time passed (a tick): pending states that never paired expire,
  terminal states are forgotten after their retention so the table stays bounded.

The worker and the replay command both drive these functions; there is no other
implementation of the join.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, NamedTuple

from streams.events import Event, EventType, leg_key
from streams.outcomes import DeliveryReport, Outcome
from streams.policy import Policy, WrapupCode

# Sources of an ``interaction:wrapped`` event that are our own POST echoing back.
OWN_SOURCES = frozenset({"api", "wrapup-bridge"})


class Status(enum.Enum):
    """Where an interaction is in the join."""

    PENDING = "pending"  # waiting for its partner event
    DISPATCHING = "dispatching"  # post decided and recorded; delivery outstanding
    DONE = "done"  # final outcome known; kept only to swallow late duplicates


@dataclass(frozen=True, slots=True)
class JoinRules:
    """Configuration the pure core needs (policy and time limits, in seconds)."""

    policy: Policy
    pending_ttl: float = 1800.0
    retention: float = 6 * 3600.0
    default_acw: float = 120.0
    # Not-ready retries go on at least this long after pairing, however far in the past
    # the event timestamps put the ACW deadline (a bridge with a slow clock, a backlog).
    min_retry_window: float = 15.0


class InteractionState(NamedTuple):
    """Everything the join remembers about one interaction (a table value).

    A named tuple, not a dataclass: the join builds one per event, and a tuple is built
    several times faster than a frozen dataclass (the replay scan's hot path).
    """

    interaction_id: str
    status: Status
    first_seen_at: float
    expires_at: float
    partition: int = -1
    ended_at: float | None = None
    wrapping_up_at: float | None = None
    wrapped_at: float | None = None
    wrapped_by: str | None = None
    campaign_id: str | None = None
    queue_id: str | None = None
    agent_id: str | None = None
    acw_deadline: float | None = None
    code_id: str | None = None
    code_label: str | None = None
    paired_at: float | None = None
    outcome: Outcome | None = None
    reason: str | None = None
    leg_id: str | None = None  # agent participant / leg; None: the interaction's only leg
    communication_id: str | None = None
    media_type: str | None = None

    @property
    def key(self) -> str:
        """The join's key (:func:`streams.events.leg_key`)."""
        return leg_key(self.interaction_id, self.leg_id)

    @property
    def code(self) -> WrapupCode | None:
        if self.code_id is None or self.code_label is None:
            return None
        return WrapupCode(self.code_id, self.code_label)

    def deadline(self, rules: JoinRules) -> float:
        """Until when posting makes sense: the ACW deadline, else wrapping-up + default;
        never sooner than ``rules.min_retry_window`` after the pair was made."""
        return _deadline(self.acw_deadline, self.wrapping_up_at, self.ended_at,
                         self.first_seen_at, self.paired_at, rules)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (enums as their values)."""
        doc = dict(zip(self._fields, self, strict=True))
        doc["status"] = self.status.value
        doc["outcome"] = self.outcome.value if self.outcome else None
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> InteractionState:
        """Inverse of :meth:`to_dict` (unknown keys are a ``TypeError``)."""
        fields = dict(doc)
        fields["status"] = Status(fields["status"])
        fields["outcome"] = Outcome(fields["outcome"]) if fields.get("outcome") else None
        return cls(**fields)


def _deadline(acw_deadline: float | None, wrapping_up_at: float | None,
              ended_at: float | None, first_seen_at: float, paired_at: float | None,
              rules: JoinRules) -> float:
    if acw_deadline is not None:
        deadline = acw_deadline
    else:
        deadline = (wrapping_up_at or ended_at or first_seen_at) + rules.default_acw
    if paired_at is not None:
        return max(deadline, paired_at + rules.min_retry_window)
    return deadline


_POSITION = {name: i for i, name in enumerate(InteractionState._fields)}
_new_tuple = tuple.__new__  # builds a named tuple from a sequence without its __new__
_ENDED_AT = _POSITION["ended_at"]
_WRAPPING_UP_AT = _POSITION["wrapping_up_at"]
_WRAPPED_AT = _POSITION["wrapped_at"]
_WRAPPED_BY = _POSITION["wrapped_by"]


def _evolve(state: InteractionState, **changes: Any) -> InteractionState:
    """``state._replace(**changes)`` without its generic overhead (the join's hot path)."""
    values = list(state)
    for name, value in changes.items():
        values[_POSITION[name]] = value  # KeyError: not a field
    return _new_tuple(InteractionState, values)


class Action(enum.Enum):
    """What the shell must do after a transition."""

    NONE = "none"  # nothing (the reason says why)
    POST = "post"  # start delivering ``code``; the state already says DISPATCHING
    CANCEL = "cancel"  # stop an outstanding delivery that has not posted yet
    PUBLISH = "publish"  # publish ``report`` to the outcomes topic (join-decided final)


class Decision(NamedTuple):
    """The single instruction a transition gives, with a bounded reason label."""

    action: Action
    reason: str
    code: WrapupCode | None = None
    deadline: float | None = None
    report: DeliveryReport | None = None


class Step(NamedTuple):
    """Result of a transition: the new state (None: delete it) and the decision."""

    state: InteractionState | None
    decision: Decision


_NO_ACTION: dict[str, Decision] = {}


def _none(state: InteractionState | None, reason: str) -> Step:
    decision = _NO_ACTION.get(reason)
    if decision is None:  # reasons are a small fixed set: one shared Decision each
        decision = _NO_ACTION[reason] = Decision(Action.NONE, reason)
    return _new_tuple(Step, (state, decision))


def decide(
    state: InteractionState | None, event: Event, now: float, rules: JoinRules
) -> Step:
    """Fold one platform event into the interaction's state."""
    policy = rules.policy
    if state is None:
        if not policy.could_be_in_scope(event.campaign_id, event.queue_id):
            return _none(None, "out_of_scope")
        state = _new_pending(event, now, rules)
    elif state.status is Status.DONE:
        return _none(state, "after_final")  # unchanged: a late duplicate writes nothing
    else:
        state = _merge_context(state, event)
    if state.status is Status.DISPATCHING:
        if event.type is EventType.WRAPPED and not _is_own_echo(state, event):
            values = list(state)
            values[_WRAPPED_AT], values[_WRAPPED_BY] = event.occurred_at, event.wrapped_by
            state = _new_tuple(InteractionState, values)
            return _new_tuple(Step, (state, _CANCEL[_source(event)]))
        return _none(state, "duplicate")

    # PENDING. Whatever the event, context it brings may rule the interaction out.
    if not policy.could_be_in_scope(state.campaign_id, state.queue_id):
        return _none(None, "out_of_scope")
    # Expiry must not depend on when the last tick ran: an overdue state expires now.
    if now >= state.expires_at:
        return expire(state, now, rules)

    if event.type is EventType.WRAPPED:
        reason = f"wrapped_by_{_source(event)}"
        state = _evolve(
            state,
            status=Status.DONE,
            wrapped_at=event.occurred_at,
            wrapped_by=event.wrapped_by,
            outcome=Outcome.SKIPPED,
            reason=reason,
            expires_at=now + rules.retention,
        )
        return Step(state, Decision(Action.PUBLISH, reason, report=_report(state, now)))
    ended_at, wrapping_up_at = state.ended_at, state.wrapping_up_at
    if event.type is EventType.ENDED:
        duplicate = ended_at is not None
        if not duplicate:
            ended_at = event.occurred_at
    else:
        duplicate = wrapping_up_at is not None
        if not duplicate:
            wrapping_up_at = event.occurred_at

    if ended_at is None or wrapping_up_at is None:
        if not duplicate:
            values = list(state)
            values[_ENDED_AT], values[_WRAPPING_UP_AT] = ended_at, wrapping_up_at
            state = _new_tuple(InteractionState, values)
        return _none(state, "duplicate" if duplicate else "waiting")
    code = policy.resolve(state.campaign_id, state.queue_id)
    if code is None:
        # Paired, but campaign/queue are not yet known well enough to pick a rule: a
        # later event (even a duplicate) may bring them; else the state expires.
        if not duplicate:
            state = _evolve(state, ended_at=ended_at, wrapping_up_at=wrapping_up_at)
        return _none(state, "duplicate" if duplicate else "waiting_context")
    deadline = _deadline(state.acw_deadline, wrapping_up_at, ended_at, state.first_seen_at,
                         now, rules)
    state = _evolve(
        state,
        ended_at=ended_at,
        wrapping_up_at=wrapping_up_at,
        status=Status.DISPATCHING,
        paired_at=now,
        code_id=code.id,
        code_label=code.label,
        expires_at=max(deadline, now) + rules.retention,
    )
    return _new_tuple(Step, (state, _new_tuple(Decision, (Action.POST, "paired", code, deadline,
                                                          None))))


def _new_pending(event: Event, now: float, rules: JoinRules) -> InteractionState:
    """The state of an interaction first seen with ``event``, its context merged in."""
    if event.campaign_id or event.queue_id or event.agent_id or event.acw_deadline:
        context = (event.campaign_id, event.queue_id, event.agent_id, event.acw_deadline)
    else:
        context = (None, None, None, None)
    return _new_tuple(InteractionState, (
        event.interaction_id, Status.PENDING, now, now + rules.pending_ttl, -1,
        None, None, None, None, *context, None, None, None, None, None,
        event.leg_id, event.communication_id, event.media_type))


def record_outcome(
    state: InteractionState | None, report: DeliveryReport, now: float, rules: JoinRules
) -> Step:
    """Make a delivery report final; the first final outcome wins."""
    if state is not None and state.status is Status.DONE:
        return _none(state, "duplicate_outcome")
    if state is None:
        state = InteractionState(
            interaction_id=report.interaction_id,
            status=Status.DONE,
            first_seen_at=now,
            expires_at=now,
            code_id=report.code_id,
            leg_id=report.leg_id,
        )
    state = _evolve(
        state,
        status=Status.DONE,
        outcome=report.outcome,
        reason=report.reason,
        expires_at=now + rules.retention,
    )
    return _none(state, "recorded")


def expire(state: InteractionState, now: float, rules: JoinRules) -> Step:
    """Expire an unpaired state, or forget a final one, once its time has come."""
    if now < state.expires_at:
        return _none(state, "not_due")
    if state.status is Status.DONE:
        return _none(None, "forgotten")
    if state.status is Status.DISPATCHING:
        # The dispatcher owns it; a report normally arrives long before this.
        reason = "dispatch_unresolved"
    elif state.ended_at is None:
        reason = "missing_ended"
    elif state.wrapping_up_at is None:
        reason = "missing_wrapping_up"
    else:
        reason = "missing_context"  # paired, but no rule could be chosen
    state = _evolve(
        state,
        status=Status.DONE,
        outcome=Outcome.EXPIRED,
        reason=reason,
        expires_at=now + rules.retention,
    )
    return Step(state, Decision(Action.PUBLISH, reason, report=_report(state, now)))


def _merge_context(state: InteractionState, event: Event) -> InteractionState:
    """Fill campaign/queue/agent/deadline and the leg's communication/media from the
    event where the state lacks them (the first value known wins)."""
    if (
        (state.campaign_id or not event.campaign_id)
        and (state.queue_id or not event.queue_id)
        and (state.agent_id or not event.agent_id)
        and (state.acw_deadline or not event.acw_deadline)
        and (state.communication_id or not event.communication_id)
        and (state.media_type or not event.media_type)
    ):
        return state
    return _evolve(
        state,
        campaign_id=state.campaign_id or event.campaign_id,
        queue_id=state.queue_id or event.queue_id,
        agent_id=state.agent_id or event.agent_id,
        acw_deadline=state.acw_deadline or event.acw_deadline,
        communication_id=state.communication_id or event.communication_id,
        media_type=state.media_type or event.media_type,
    )


def _is_own_echo(state: InteractionState, event: Event) -> bool:
    """Our own POST seen again: a source that names us, or one that does not say who
    wrapped (None, "unknown") reporting the very code we are posting."""
    source = (event.wrapped_by or "unknown").lower()
    if source in OWN_SOURCES:
        return event.wrapup_code_id is None or event.wrapup_code_id == state.code_id
    return (source == "unknown" and event.wrapup_code_id is not None
            and event.wrapup_code_id == state.code_id)


_SOURCES = ("agent", "platform", "api", "other", "unknown")
_CANCEL = {source: Decision(Action.CANCEL, f"wrapped_by_{source}") for source in _SOURCES}


def _source(event: Event) -> str:
    if event.wrapped_by is None:
        return "unknown"
    source = event.wrapped_by.lower()
    return source if source in {"agent", "platform", "api"} else "other"


def _report(state: InteractionState, now: float) -> DeliveryReport:
    assert state.outcome is not None
    return DeliveryReport(
        interaction_id=state.interaction_id,
        outcome=state.outcome,
        reason=state.reason or "",
        leg_id=state.leg_id,
        code_id=state.code_id,
        decided_at=state.paired_at,
        finished_at=now,
        source="join",
    )
