"""Handing freed heap memory back to the operating system once traffic pauses.

A burst of traffic leaves its short-lived allocations (fetched record batches, stream
buffers, HTTP exchanges) freed but still held by glibc's heap, interleaved with the
table's values that live for hours: the RSS stays at the burst's high-water mark.
``malloc_trim(0)`` returns the free pages inside the heap as well as at its top. It
walks the heap (milliseconds for hundreds of MiB), so it runs only on a tick after one
with no records processed, once per pause, never while records flow.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def _load_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None on a C library without it (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


class HeapTrimmer:
    """Trims the heap on the first quiet tick after records were processed."""

    def __init__(self, trim: Callable[[int], int] | None = None) -> None:
        self._trim = trim if trim is not None else _load_trim()
        self._busy_since_tick = False
        self._busy_since_trim = False
        self.trims = 0

    def processed(self) -> None:
        """A record went through the join."""
        self._busy_since_tick = True

    def tick(self) -> bool:
        """At each tick: trim if the last interval was quiet after a busy one; True if
        it trimmed."""
        quiet, self._busy_since_tick = not self._busy_since_tick, False
        if not quiet:
            self._busy_since_trim = True
            return False
        return self._busy_since_trim and self.trim()

    def trim(self) -> bool:
        """Trim now (after a bulk load: the read buffers freed around the states kept);
        True if it trimmed."""
        self._busy_since_trim = False
        if self._trim is None:
            return False
        self._trim(0)
        self.trims += 1
        return True
