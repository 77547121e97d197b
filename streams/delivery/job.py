"""What the worker and replay hand the dispatcher: one wrap-up to deliver."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from streams.platforms import Leg
from streams.policy import WrapupCode


@dataclass
class DeliveryJob:
    """One wrap-up to deliver. ``deadline`` is wall-clock epoch seconds (the ACW end)."""

    interaction_id: str
    code: WrapupCode
    deadline: float
    decided_at: float | None = None
    readback_first: bool = False
    cancelled: asyncio.Event | None = None

    @property
    def leg(self) -> Leg:
        """What the wrap-up is set on (one leg per interaction, for now)."""
        return Leg(self.interaction_id)
