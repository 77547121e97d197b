"""The join table's values: one leg's state as compact, exact-size JSON bytes (the
table's key is the leg key, :attr:`streams.join.InteractionState.key`).

A value is a JSON array ``[2, <fields in InteractionState order>]`` with trailing nulls
dropped (version 2), copied to an exact-size ``bytes``: ``orjson.dumps`` (3.12+) returns
an object that keeps its ~8 KB write buffer allocated, and the table holds one value per
leg for hours (``benchmarks/all.py`` measures the difference). Times are whole
milliseconds: ``first_seen_at`` as epoch milliseconds, every other time as milliseconds
after it (a third of the bytes of 17-digit epoch floats; events carry milliseconds at
best).

:func:`decode_state` also reads the earlier encodings: version 1 (the same array with
epoch-second floats) and a JSON object keyed by field name (changelogs written before
version 1 hold it; one written before legs decodes as the interaction's only leg).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from typing import Any, NamedTuple

import orjson

from streams.join import InteractionState, Status
from streams.outcomes import Outcome

VERSION = 2
_V1 = 1  # epoch-second floats
_FIELDS = len(InteractionState._fields)
_STATUS = InteractionState._fields.index("status")
_OUTCOME = InteractionState._fields.index("outcome")
_FIRST = InteractionState._fields.index("first_seen_at")
_LATER = tuple(i for i, name in enumerate(InteractionState._fields)  # times after _FIRST
               if i != _FIRST and (name.endswith("_at") or name == "acw_deadline"))
_STATUSES = {s.value: s for s in Status}
_OUTCOMES = {o.value: o for o in Outcome}
_new_tuple = tuple.__new__


def encode_state(state: InteractionState) -> bytes:
    """Table value of a state (exact-size bytes)."""
    values: list[Any] = list(state)
    values[_STATUS] = state.status.value
    if state.outcome is not None:
        values[_OUTCOME] = state.outcome.value
    base = round(state.first_seen_at * 1000)
    values[_FIRST] = base
    for i in _LATER:
        if values[i] is not None:
            values[i] = round(values[i] * 1000) - base
    end = _FIELDS
    while values[end - 1] is None:
        end -= 1
    return bytes(memoryview(orjson.dumps([VERSION, *values[:end]])))


def decode_state(raw: bytes | None) -> InteractionState | None:
    """Inverse of :func:`encode_state` (None for a missing entry); also reads the
    earlier JSON-object values."""
    if raw is None:
        return None
    doc = orjson.loads(raw)
    if isinstance(doc, dict):
        return InteractionState.from_dict(doc)
    if not isinstance(doc, list) or not doc or doc[0] not in (VERSION, _V1):
        raise ValueError(f"unknown table value encoding: {bytes(raw[:20])!r}")
    values = doc[1:]
    if len(values) > _FIELDS:
        raise ValueError(f"table value has {len(values)} fields, at most {_FIELDS} known")
    values.extend([None] * (_FIELDS - len(values)))
    if doc[0] == VERSION:
        base = values[_FIRST]
        values[_FIRST] = base / 1000
        for i in _LATER:
            if values[i] is not None:
                values[i] = (base + values[i]) / 1000
    values[_STATUS] = _STATUSES[values[_STATUS]]
    outcome = values[_OUTCOME]
    values[_OUTCOME] = None if outcome is None else _OUTCOMES[outcome]
    return _new_tuple(InteractionState, values)


def partition_of(raw: bytes) -> int:
    """The partition a table value's state belongs to."""
    state = decode_state(raw)
    return -1 if state is None else state.partition


class PartitionScan(NamedTuple):
    """What one pass over the table found for one partition."""

    entries: list[tuple[bytes, float]]  # (key, expires_at), for the expiry index
    counts: Counter[Status]
    dispatching: list[bytes]  # keys of open deliveries


def scan(items: Iterable[tuple[bytes, bytes]],
         partitions: Collection[int]) -> dict[int, PartitionScan]:
    """One pass over the table's ``items``: the states of each of ``partitions``."""
    found = {p: PartitionScan([], Counter(), []) for p in partitions}
    for key, raw in items:
        state = decode_state(raw)
        if state is None:
            continue
        part = found.get(state.partition)
        if part is None:
            continue
        part.entries.append((key, state.expires_at))
        part.counts[state.status] += 1
        if state.status is Status.DISPATCHING:
            part.dispatching.append(key)
    return found
