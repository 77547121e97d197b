"""What the cluster knows about one interaction, as :mod:`.gather` found it. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    state: InteractionState | None = None
    state_at: float | None = None
    state_deleted: bool = False  # the last changelog record is a tombstone
    outcomes: list[Recorded] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(self.events or self.state or self.state_deleted or self.outcomes
                    or self.dead_letters)
