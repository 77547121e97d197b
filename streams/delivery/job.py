"""What the worker and replay hand the dispatcher: one wrap-up to deliver."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from streams.events import leg_key
from streams.platforms import Leg
from streams.policy import WrapupCode


@dataclass
class DeliveryJob:
    """One leg's wrap-up to deliver. ``deadline`` is wall-clock epoch seconds (the ACW
    end). ``leg_id`` None: the interaction's only leg."""

    interaction_id: str
    code: WrapupCode
    deadline: float
    decided_at: float | None = None
    readback_first: bool = False
    cancelled: asyncio.Event | None = None
    leg_id: str | None = None
    communication_id: str | None = None
    media_type: str | None = None

    @property
    def leg(self) -> Leg:
        """What the wrap-up is set on."""
        return Leg(self.interaction_id, self.leg_id, self.communication_id, self.media_type)

    @property
    def key(self) -> str:
        """The leg key (:func:`streams.events.leg_key`), for logs."""
        return leg_key(self.interaction_id, self.leg_id)

    @property
    def log_extra(self) -> dict[str, str]:
        """Log fields naming the leg (``leg_id`` only where there is one)."""
        extra = {"interaction_id": self.interaction_id}
        if self.leg_id is not None:
            extra["leg_id"] = self.leg_id
        return extra
