"""The generic dialect: the project's own (``interaction:*`` events, one leg per
interaction); every behaviour is :class:`~.base.Dialect`'s default."""

from __future__ import annotations

from streams.dev.simulator.dialects.base import Dialect


class GenericDialect(Dialect):
    """The simulator as it always spoke."""


def dialect() -> GenericDialect:
    return GenericDialect()
