"""Final outcomes of wrap-up deliveries: the audit record and the replay ledger.

One record per interaction is published to the compacted outcomes topic, keyed by
interaction ID. The record never carries credentials.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any

import orjson


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
    """What the dispatcher learned about one interaction's wrap-up."""

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

    def encode(self) -> bytes:
        """The outcomes-topic value (JSON)."""
        doc = asdict(self)
        doc["outcome"] = self.outcome.value
        return orjson.dumps(doc)

    def dead_letter_headers(self) -> dict[str, bytes] | None:
        """The headers of this report's dead-letter copy; None when it needs none (only
        failures are dead-lettered). The worker and replay publish both alike."""
        if self.outcome is not Outcome.FAILED:
            return None
        return {"wrapup-kind": b"delivery", "wrapup-reason": self.reason.encode()}

    @classmethod
    def decode(cls, raw: bytes) -> DeliveryReport:
        """Inverse of :meth:`encode`; raises ``ValueError`` on a malformed record."""
        try:
            doc: dict[str, Any] = orjson.loads(raw)
            doc["outcome"] = Outcome(doc["outcome"])
            return cls(**doc)
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"malformed outcome record: {exc}") from None
