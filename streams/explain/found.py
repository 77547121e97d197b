"""What the cluster knows about one interaction, as :mod:`.gather` found it. Pure data.

An interaction may have several agent legs (the join's unit): events, outcomes and table
states each name their leg; :meth:`Found.legs` lists them and :meth:`Found.for_leg`
narrows to one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from streams.events import Event
from streams.join import InteractionState
from streams.outcomes import DeliveryReport


class ExplainError(Exception):
    """The interaction cannot be explained (message: one line)."""


@dataclass(frozen=True, slots=True)
class Seen:
    """One record of the events topic under the interaction's key."""

    offset: int
    at: float  # record time, epoch seconds
    event: Event | None  # None: the record was rejected
    rejected: str | None = None  # the rejection reason and detail


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead-letter record about the interaction (an event or a delivery)."""

    at: float
    kind: str
    reason: str
    source: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    """One record of the outcomes topic for the interaction."""

    at: float
    report: DeliveryReport


@dataclass(frozen=True, slots=True)
class LegState:
    """The last changelog record of a named leg's table state."""

    at: float
    state: InteractionState | None  # None: a tombstone (forgotten)


@dataclass(slots=True)
class Found:
    """Everything read: events in the window, table state, outcomes, dead letters."""

    interaction_id: str
    events_topic: str
    partition: int
    since: float
    until: float | None
    window_records: int = 0  # records of that partition in the window, any key
    events: list[Seen] = field(default_factory=list)
    state: InteractionState | None = None  # the state keyed by the interaction ID itself
    state_at: float | None = None
    state_deleted: bool = False  # the last changelog record is a tombstone
    outcomes: list[Recorded] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    leg_states: dict[str, LegState] = field(default_factory=dict)  # by leg ID (named legs)

    def legs(self) -> list[str | None]:
        """The legs anything was found for (None: the interaction's only leg), in order."""
        named = {s.event.leg_id for s in self.events if s.event is not None}
        named |= {r.report.leg_id for r in self.outcomes} | set(self.leg_states)
        if self.state is not None or self.state_deleted:
            named.add(None)
        return sorted(named, key=lambda leg: (leg is not None, leg or ""))

    def for_leg(self, leg: str | None) -> Found:
        """What was found about one leg: its events, outcomes and state (records that
        were rejected and dead letters are about the interaction, not a leg: left out)."""
        state, at, deleted = self.state, self.state_at, self.state_deleted
        if leg is not None:
            found = self.leg_states.get(leg)
            state, at = (found.state, found.at) if found else (None, None)
            deleted = found is not None and found.state is None
        return replace(
            self, events=[s for s in self.events if s.event is not None
                          and s.event.leg_id == leg],
            outcomes=[r for r in self.outcomes if r.report.leg_id == leg],
            state=state, state_at=at, state_deleted=deleted, dead_letters=[],
            leg_states={})

    @property
    def anything(self) -> bool:
        return bool(self.events or self.state or self.state_deleted or self.outcomes
                    or self.dead_letters or self.leg_states)
