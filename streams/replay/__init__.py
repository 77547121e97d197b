"""Replay: recover missed wrap-ups by re-reading the event topic over a time window.

:mod:`streams.kafka.reader` reads a bounded range of a topic, :mod:`.plan` folds it
through the join core, :mod:`.ledger` reads the outcomes topic, :mod:`.run` delivers what
is missing with the worker's dispatcher, :mod:`.cli` is ``wrapup replay``, :mod:`.reset`
resets the worker's consumer group to a time (the other way to replay).
"""

from streams.replay.cli import replay_command

__all__ = ["replay_command"]
