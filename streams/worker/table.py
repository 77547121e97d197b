"""The join table's values: one interaction state as JSON bytes."""

from __future__ import annotations

import orjson

from streams.join import InteractionState


def encode_state(state: InteractionState) -> bytes:
    """Table value of a state."""
    return orjson.dumps(state.to_dict())


def decode_state(raw: bytes | None) -> InteractionState | None:
    """Inverse of :func:`encode_state` (None for a missing entry)."""
    return None if raw is None else InteractionState.from_dict(orjson.loads(raw))
