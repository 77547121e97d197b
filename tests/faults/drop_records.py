"""``wrapup worker`` with chosen records silently dropped once, as Faust drops them.

Test-only entry point (``python -m tests.faults.drop_records worker``): it patches
faust's consumer, then runs the real CLI. Around a rebalance, faust-streaming 0.15's
``Consumer._drain_messages`` can fetch a record, lose it when the stream's flow is
suspended (``wait_first(callback(message), suspend_flow.wait())``) and still move its
read offset past it; the consumer's fetch position is past it too. That drop is not
reproducible on demand, so this wrapper makes it happen for named records: in
``Consumer.getmany`` (the generator ``_drain_messages`` iterates), a record of the
events topic whose key and event type are listed in ``WRAPUP_TEST_DROP`` (a JSON object
``{"<interaction id>": "<event type>"}``) is, the first time it is fetched, not handed on
and its read offset is set as ``_drain_messages`` sets it: never delivered to the
stream, never acked, the consumer past it. Every drop is logged ("test: record
dropped") so a test can tell the injection happened.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import orjson
from faust.transport import consumer as faust_consumer

log = logging.getLogger("wrapup.test.drop")


def _event_type(value: Any) -> str | None:
    try:
        doc = orjson.loads(value)
    except (TypeError, orjson.JSONDecodeError):
        return None
    kind = doc.get("type") if isinstance(doc, dict) else None
    return kind if isinstance(kind, str) else None


def install(drops: dict[str, str], topic: str) -> None:
    """Drop, once each, the record of ``topic`` with key ``k`` and type ``drops[k]``."""
    pending = dict(drops)
    original = faust_consumer.Consumer.getmany

    async def getmany(self: Any, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        async for tp, message in original(self, timeout):
            key = message.key.decode() if isinstance(message.key, bytes) else None
            if (pending and tp.topic == topic and key in pending
                    and _event_type(message.value) == pending[key]):
                del pending[key]
                # What _drain_messages does after a callback the suspended flow cancelled.
                self._read_offset[tp] = message.offset
                log.warning("test: record dropped", extra={
                    "topic": tp.topic, "partition": tp.partition, "offset": message.offset,
                    "interaction_id": key, "event_type": drops[key]})
                continue
            yield tp, message

    faust_consumer.Consumer.getmany = getmany  # type: ignore[method-assign]


def main() -> None:
    drops = orjson.loads(os.environ.get("WRAPUP_TEST_DROP", "{}"))
    topic = os.environ.get("WRAPUP_EVENTS_TOPIC", "platform.interaction-events")
    if drops:
        install({str(k): str(v) for k, v in drops.items()}, topic)
    from streams.cli import main as cli

    cli(prog_name="wrapup")


if __name__ == "__main__":
    main()
