"""The Faust and aiokafka internals the worker reads or sets, in one place.

Each is a private attribute of faust-streaming 0.15 / aiokafka 0.14 (pinned in
pyproject.toml); each accessor degrades to "unknown" rather than raising if they move.
"""

from __future__ import annotations

import contextlib
from typing import Any

from faust.types import TP


def committed_offset(consumer: Any, tp: TP) -> int | None:
    """The offset Faust last committed for ``tp`` (None: none this assignment)."""
    offset = getattr(consumer, "_committed_offset", {}).get(tp)
    return offset if isinstance(offset, int) else None


def consumer_position(consumer: Any, tp: TP) -> int | None:
    """The position of Faust's ``consumer`` in ``tp``: the offset after the last record
    it handed to Faust (aiokafka's subscription state; None when unknown)."""
    try:
        aio = consumer._thread._ensure_consumer()
        state = aio._fetcher._subscriptions.subscription.assignment.state_value(tp)
        position = state.position if state is not None and state.has_valid_position else None
    except Exception:  # not assigned, not started, or aiokafka internals moved
        return None
    return position if isinstance(position, int) else None


def leave_group_on_close(consumer: Any) -> None:
    """Make the consumer leave the group when it closes, which aiokafka skips for static
    members (they would keep their partitions until their session times out). For a
    graceful stop (SIGTERM: a rolling update, a scale-in, an operator), so that its
    partitions move at once; a crash still leaves the member for its restart."""
    with contextlib.suppress(Exception):  # not started, or aiokafka internals moved
        consumer._thread._ensure_consumer()._coordinator._group_instance_id = None


FETCH_MAX_WAIT_MS = 20


def shorten_fetch_wait(consumer: Any, ms: int = FETCH_MAX_WAIT_MS) -> None:
    """Make the broker answer a fetch within ``ms`` even when it has nothing new, instead
    of Faust's fixed 1.5 s. aiokafka keeps one fetch in flight per broker and leaves out
    the partitions whose records are still being processed, so a record arriving in such
    a partition waited for the long poll of the others to expire (p99 ~1.5 s)."""
    with contextlib.suppress(Exception):  # not started, or aiokafka internals moved
        consumer._thread._ensure_consumer()._fetcher._fetch_max_wait_ms = ms


def drop_monitor_sensor(app: Any) -> None:
    """Take Faust's own Monitor out of the app's sensors: it keeps statistics only its
    web views show (disabled here) and costs ~5 % of the worker's CPU under load (four
    calls and a dict per record); the worker's metrics are its own (Prometheus)."""
    with contextlib.suppress(Exception):  # never added, or Faust internals moved
        app.sensors.remove(app.monitor)
