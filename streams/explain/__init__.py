"""``wrapup explain``: one interaction's story from what the cluster holds."""

from streams.explain.command import explain_command

__all__ = ["explain_command"]
