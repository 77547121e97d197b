"""Read what the cluster knows about one interaction, streaming and filtering by key.

The events topic (or the worker's re-keyed copy) is keyed by interaction ID, so only
the key's partition is read, and only over the window; the changelog and the outcomes
topic (compacted) are read whole on the key's partition, for the interaction's key and
its legs' (``interaction/leg``); the dead-letter topic is read
from the window's start on every partition (event dead letters carry no key). Nothing
but the interaction's own records is kept in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from streams import platforms
from streams.config import Settings
from streams.events import LEG_SEPARATOR, Rejection, split_leg_key
from streams.explain.found import DeadLetter, ExplainError, Found, LegState, Recorded, Seen
from streams.explain.partitioner import partition_for
from streams.kafka.reader import KafkaReadError, TopicReader
from streams.outcomes import DeliveryReport
from streams.replay.timespec import Window
from streams.topics import TopicLayout
from streams.worker.table import decode_state


def changelog_topic(settings: Settings) -> str:
    """The join table's changelog (Faust: ``<app id>-<table>-changelog``)."""
    return f"{settings.app_id}-interactions-changelog"


async def gather(settings: Settings, interaction_id: str, window: Window, *,
                 timeout: float = 15.0) -> Found:
    """Everything the cluster holds about ``interaction_id`` (see the module docstring)."""
    key = interaction_id.encode()
    topic = TopicLayout.for_settings(settings, 0).join_source
    reader = TopicReader(settings.kafka_bootstrap_servers, client_id="wrapup-explain",
                         timeout=timeout, security=settings.kafka_security)
    try:
        await reader.start()
    except KafkaReadError as exc:
        raise ExplainError(str(exc)) from None
    try:
        parts = await reader.partitions(topic)
        if not parts:
            raise ExplainError(f"events topic {topic!r} does not exist")
        partition = partition_for(key, len(parts))
        found = Found(interaction_id, topic, partition, window.since, window.until)
        decode = platforms.load(settings).events.decode

        def on_event(_: int, records: Sequence[Any]) -> None:
            found.window_records += len(records)
            for r in records:
                if r.key == key:
                    decoded = decode(r.value)
                    at = r.timestamp / 1000
                    if isinstance(decoded, Rejection):
                        found.events.append(Seen(r.offset, at, None,
                                                 f"{decoded.reason.value}: {decoded.detail}"))
                    for event in () if isinstance(decoded, Rejection) else decoded:
                        if event.interaction_id == interaction_id:
                            found.events.append(Seen(r.offset, at, event))

        await _read(reader, topic, [partition], window.since, window.until, on_event)
        # Table states and outcomes are keyed by leg (``interaction`` or ``interaction/leg``).
        await _read_keyed(reader, changelog_topic(settings), key,
                          lambda r: _on_state(found, r))
        await _read_keyed(reader, settings.outcomes_topic, key,
                          lambda r: _on_outcome(found, r))
        dl_parts = await reader.partitions(settings.dead_letter_topic) or []
        needle = b'"' + key + b'"'

        def on_dead_letter(_: int, records: Sequence[Any]) -> None:
            for r in records:
                if (r.key == key or (r.key is None and needle in (r.value or b""))
                        or (r.key is not None and r.key.startswith(key + LEG_SEPARATOR.encode()))):
                    found.dead_letters.append(_dead_letter(r))

        await _read(reader, settings.dead_letter_topic, dl_parts, window.since, None,
                    on_dead_letter)
        return found
    except KafkaReadError as exc:
        raise ExplainError(str(exc)) from None
    finally:
        await reader.stop()


async def _read(reader: TopicReader, topic: str, partitions: list[int], since: float | None,
                until: float | None, on_batch: Callable[[int, Sequence[Any]], None]) -> None:
    if partitions:
        spans = await reader.spans(topic, partitions, since, since, until)
        if any(span.size for span in spans.values()):  # assigning nothing upsets aiokafka
            await reader.read(topic, spans, on_batch)


async def _read_keyed(reader: TopicReader, topic: str, key: bytes,
                      on_record: Callable[[Any], None]) -> None:
    """The records of the interaction ``key`` and of its legs (``key/leg``), from the
    partition of a topic partitioned like the events (absent topic: nothing)."""
    parts = await reader.partitions(topic)
    if not parts:
        return
    prefix = key + LEG_SEPARATOR.encode()

    def on_batch(_: int, records: Sequence[Any]) -> None:
        for r in records:
            if r.key == key or (r.key is not None and r.key.startswith(prefix)):
                on_record(r)

    await _read(reader, topic, [partition_for(key, len(parts))], None, None, on_batch)


def _on_state(found: Found, record: Any) -> None:
    at = record.timestamp / 1000
    try:
        state = decode_state(record.value)
    except (ValueError, TypeError, KeyError):
        state = None
    _, leg = split_leg_key(record.key.decode("utf-8", "replace"))
    if leg is not None:
        found.leg_states[leg] = LegState(at, state)
        return
    found.state_at, found.state, found.state_deleted = at, state, state is None


def _on_outcome(found: Found, record: Any) -> None:
    if record.value is None:
        return
    try:
        report = DeliveryReport.decode(record.value)
    except ValueError:
        return
    found.outcomes.append(Recorded(record.timestamp / 1000, report))


def _dead_letter(record: Any) -> DeadLetter:
    headers = {name: value.decode(errors="replace") for name, value in record.headers or ()}
    detail = headers.get("wrapup-detail")
    if detail is None and headers.get("wrapup-kind") == "delivery" and record.value:
        try:
            detail = f"last status {orjson.loads(record.value).get('last_status')}"
        except orjson.JSONDecodeError:
            detail = None
    return DeadLetter(record.timestamp / 1000, headers.get("wrapup-kind", "?"),
                      headers.get("wrapup-reason", "?"), headers.get("wrapup-source"), detail)
