"""The generic dialect's events side: the bridge's ``interaction:*`` JSON, one event each.

It delegates to :func:`streams.events.parse_event` (the canonical wire format is this
dialect's). A well-formed record of a type the join does not need (``is_ignorable``)
yields no events rather than a rejection.
"""

from __future__ import annotations

from streams.events import Rejection, is_ignorable, parse_event
from streams.platforms.base import Decoded, RawValue


class GenericEvents:
    """One record, one event (one leg per interaction)."""

    def decode(self, raw: RawValue) -> Decoded:
        parsed = parse_event(raw)
        if isinstance(parsed, Rejection):
            return () if is_ignorable(parsed) else parsed
        return (parsed,)
