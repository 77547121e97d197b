"""The one error a replay reports to the operator (its message is one line)."""

from __future__ import annotations


class ReplayError(Exception):
    """Bad input or an unreachable dependency: print the message, exit non-zero, post nothing."""
