"""The outcomes ledger as a replay sees it: the last final outcome per agent leg.

The outcomes topic is compacted and keyed by the leg key (:func:`streams.events.leg_key`:
the interaction ID when an interaction has one leg); the worker and every replay publish
one :class:`~streams.outcomes.DeliveryReport` per finished leg. Read to
the end offsets taken at the start, the last record per key is what is known to be final.

Final for a replay: ``applied`` and ``already_applied`` (our code is on the interaction)
and ``skipped`` (someone else's code is; the platform never replaces a wrap-up). A
``failed`` or ``expired`` record is not final: a replay tries again (read-back first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from streams.kafka.reader import TopicReader
from streams.outcomes import Outcome

FINAL = frozenset({Outcome.APPLIED, Outcome.ALREADY_APPLIED, Outcome.SKIPPED})


class Ledger:
    """leg key -> (outcome, reason) of its last record; malformed records ignored."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[Outcome, str]] = {}
        self.records = 0
        self.malformed = 0

    def add(self, key: bytes | None, value: bytes | None) -> None:
        """Fold one outcomes record (a null value is a tombstone)."""
        self.records += 1
        if key is None:
            self.malformed += 1
            return
        leg = key.decode("utf-8", "replace")
        if value is None:
            self.entries.pop(leg, None)
            return
        try:
            doc = orjson.loads(value)
            self.entries[leg] = (Outcome(doc["outcome"]), str(doc.get("reason") or ""))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self.malformed += 1

    def add_batch(self, _partition: int, records: Sequence[Any]) -> None:
        for record in records:
            self.add(record.key, record.value)

    def final(self, key: str) -> tuple[Outcome, str] | None:
        """The leg's final outcome and reason (``key``: its leg key), or None if it may
        still be posted."""
        entry = self.entries.get(key)
        return entry if entry is not None and entry[0] in FINAL else None

    def __len__(self) -> int:
        return len(self.entries)


async def read_ledger(reader: TopicReader, topic: str) -> Ledger:
    """The whole outcomes topic up to its current end (an absent topic is an empty ledger)."""
    ledger = Ledger()
    partitions = await reader.partitions(topic)
    if not partitions:
        return ledger
    spans = await reader.spans(topic, partitions, None, None, None)
    await reader.read(topic, spans, ledger.add_batch)
    return ledger
