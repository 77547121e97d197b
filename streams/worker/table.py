"""The join table's values: one leg's state as JSON bytes (the table's key is the leg
key, :attr:`streams.join.InteractionState.key`; a value written before legs decodes as
the interaction's only leg)."""

from __future__ import annotations

import orjson

from streams.join import InteractionState


def encode_state(state: InteractionState) -> bytes:
    """Table value of a state."""
    return orjson.dumps(state.to_dict())


def decode_state(raw: bytes | None) -> InteractionState | None:
    """Inverse of :func:`encode_state` (None for a missing entry)."""
    return None if raw is None else InteractionState.from_dict(orjson.loads(raw))
