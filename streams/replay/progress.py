"""Progress of a replay phase: a tqdm bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import importlib
import logging
import sys
import time
from typing import IO, Any, Protocol

log = logging.getLogger("wrapup.replay")


class Progress(Protocol):
    """One phase at a time: ``begin``, any number of ``advance``, then ``end``."""

    def begin(self, phase: str, total: int, unit: str) -> None: ...

    def advance(self, count: int = 1) -> None: ...

    def end(self) -> None: ...


class NoProgress:
    """Reports nothing (``--json`` runs and tests)."""

    def begin(self, phase: str, total: int, unit: str) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass

    def end(self) -> None:
        pass


class LogProgress:
    """A log line at the start, every ``every`` seconds, and at the end of each phase."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self._phase = ""
        self._unit = ""
        self._total = 0
        self._done = 0
        self._started = 0.0
        self._last = 0.0

    def begin(self, phase: str, total: int, unit: str) -> None:
        self._phase, self._total, self._unit, self._done = phase, total, unit, 0
        self._started = self._last = time.monotonic()
        log.info("%s: %d %s to go", phase, total, unit,
                 extra={"phase": phase, "total": total})

    def advance(self, count: int = 1) -> None:
        self._done += count
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._line("progress")

    def end(self) -> None:
        self._line("done")

    def _line(self, what: str) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        log.info("%s %s: %d/%d %s (%.0f/s)", self._phase, what, self._done, self._total,
                 self._unit, self._done / elapsed,
                 extra={"phase": self._phase, "done": self._done, "total": self._total})


class BarProgress:
    """A tqdm progress bar per phase, on ``stream`` (stderr: stdout keeps the summary)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self._bar: Any = None

    def begin(self, phase: str, total: int, unit: str) -> None:
        tqdm = importlib.import_module("tqdm").tqdm  # untyped: imported as Any

        self.end()
        self._bar = tqdm(total=total, desc=phase, unit=f" {unit}", unit_scale=True,
                         file=self.stream, dynamic_ncols=True, mininterval=0.2)

    def advance(self, count: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def end(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def for_stream(stdout: IO[str]) -> Progress:
    """A bar (on stderr) when ``stdout`` is a terminal, log lines otherwise."""
    if stdout.isatty():
        return BarProgress()
    return LogProgress()
