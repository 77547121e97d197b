"""Final outcomes of wrap-up deliveries: the audit record and the replay ledger.

One record per agent leg is published to the compacted outcomes topic, keyed by the
leg key (:func:`streams.events.leg_key`: the interaction ID when the interaction has one
leg) and sent to the partition of the events the leg came from. The record never carries
credentials.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from streams.events import leg_key


class Outcome(enum.Enum):
    """How a wrap-up ended (a bounded metric label)."""

    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"
    SKIPPED = "skipped"
    FAILED = "failed"
    EXPIRED = "expired"

    @property
    def done(self) -> bool:
        """True when our code is on the interaction: nothing left to post."""
        return self in (Outcome.APPLIED, Outcome.ALREADY_APPLIED)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What the dispatcher learned about one leg's wrap-up (``leg_id`` None: the
    interaction's only leg)."""

    interaction_id: str
    outcome: Outcome
    reason: str
    attempts: int = 0
    code_id: str | None = None
    decided_at: float | None = None
    first_attempt_at: float | None = None
    finished_at: float | None = None
    last_status: int | None = None
    source: str = "worker"
    leg_id: str | None = None

    @property
    def key(self) -> str:
        """The leg key this report is about (the outcomes record's key)."""
        return leg_key(self.interaction_id, self.leg_id)

    def encode(self) -> bytes:
        """The outcomes-topic value (JSON). ``leg_id`` is written only when there is
        one, so a single-leg record is exactly what it was before legs."""
        doc = asdict(self)
        doc["outcome"] = self.outcome.value
        if self.leg_id is None:
            del doc["leg_id"]
        return orjson.dumps(doc)

    def dead_letter_headers(self) -> dict[str, bytes] | None:
        """The headers of this report's dead-letter copy; None when it needs none (only
        failures are dead-lettered). The worker and replay publish both alike."""
        if self.outcome is not Outcome.FAILED:
            return None
        return {"wrapup-kind": b"delivery", "wrapup-reason": self.reason.encode()}

    @classmethod
    def decode(cls, raw: bytes) -> DeliveryReport:
        """Inverse of :meth:`encode` (a record without ``leg_id`` is about the
        interaction's only leg); raises ``ValueError`` on a malformed record."""
        try:
            doc: dict[str, Any] = orjson.loads(raw)
            doc["outcome"] = Outcome(doc["outcome"])
            return cls(**doc)
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"malformed outcome record: {exc}") from None
