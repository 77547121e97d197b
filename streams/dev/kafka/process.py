"""Process helpers of the local broker: its child JVM dies with us; its log, excerpted."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from streams.kafka.tools import tail


def log_excerpt(path: Path, lines: int = 40) -> str:
    """The first error lines (with their causes) and the last ``lines`` lines of a log."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    errors = [
        line
        for line in text.splitlines()
        if " ERROR " in line or " FATAL " in line or line.startswith("Caused by:")
    ][:12]
    head = "errors:\n" + "\n".join(errors) + "\n... last lines:\n" if errors else ""
    return head + tail(text, lines)


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when this process dies.

    Only used from the main thread: PDEATHSIG fires when the *thread* that forked exits.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # parent already gone between fork and prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec
