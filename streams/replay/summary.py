"""The result of a replay: counts for the final table (or ``--json``).

Every pair found in the window ends in exactly one bucket, so
``pairs_found == already_done + posted + would_post + skipped + failed``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from streams.replay.timespec import format_time


@dataclass
class Summary:
    """Counts of one replay run."""

    topic: str
    since: float
    until: float | None
    scan_from: float
    dry_run: bool
    events_scanned: int = 0
    events_in_window: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    pairs_found: int = 0
    pairs_before_window: int = 0
    already_done: Counter[str] = field(default_factory=Counter)
    posted: int = 0
    would_post: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    unrecorded: int = 0  # delivered, but the outcome could not be published
    unpaired: Counter[str] = field(default_factory=Counter)
    ledger_entries: int = 0
    scan_seconds: float = 0.0
    processes: int = 1
    deliver_seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events_scanned / self.scan_seconds if self.scan_seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        """No failed delivery and every outcome recorded."""
        return not self.failed and not self.unrecorded

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``--json``)."""
        return {
            "topic": self.topic,
            "since": format_time(self.since),
            "until": format_time(self.until) if self.until is not None else None,
            "scan_from": format_time(self.scan_from),
            "dry_run": self.dry_run,
            "events_scanned": self.events_scanned,
            "events_in_window": self.events_in_window,
            "events_rejected": dict(self.rejected),
            "pairs_found": self.pairs_found,
            "pairs_before_window": self.pairs_before_window,
            "already_done": sum(self.already_done.values()),
            "already_done_by_reason": dict(self.already_done),
            "posted": self.posted,
            "would_post": self.would_post,
            "skipped": sum(self.skipped.values()),
            "skipped_by_reason": dict(self.skipped),
            "failed": sum(self.failed.values()),
            "failed_by_reason": dict(self.failed),
            "unrecorded": self.unrecorded,
            "unpaired_by_reason": dict(self.unpaired),
            "ledger_entries": self.ledger_entries,
            "scan_seconds": round(self.scan_seconds, 3),
            "events_per_second": round(self.events_per_second, 1),
            "scan_processes": self.processes,
            "deliver_seconds": round(self.deliver_seconds, 3),
        }

    def table(self) -> str:
        """The human summary: one row per count, reasons indented beneath."""
        rows: list[tuple[str, str]] = []
        window = f"{format_time(self.since)} .. "
        window += format_time(self.until) if self.until is not None else "end at start"
        rows.append(("window", window))
        rows.append(("events scanned", f"{self.events_scanned:,} "
                     f"({self.events_in_window:,} in window, "
                     f"{self.events_per_second:,.0f}/s)"))
        rows += _reasons(self.rejected, "  ")
        rows.append(("pairs found", f"{self.pairs_found:,}"))
        rows.append(("already done", f"{sum(self.already_done.values()):,}"))
        rows += _reasons(self.already_done, "  ")
        if self.dry_run:
            rows.append(("would post", f"{self.would_post:,}"))
        else:
            rows.append(("posted", f"{self.posted:,}"))
        rows.append(("skipped", f"{sum(self.skipped.values()):,}"))
        rows += _reasons(self.skipped, "  ")
        rows.append(("failed", f"{sum(self.failed.values()):,}"))
        rows += _reasons(self.failed, "  ")
        if self.unrecorded:
            rows.append(("outcome not recorded", f"{self.unrecorded:,}"))
        if self.unpaired:
            rows.append(("left unpaired", f"{sum(self.unpaired.values()):,}"))
            rows += _reasons(self.unpaired, "  ")
        width = max(len(label) for label, _ in rows)
        title = f"replay of {self.topic}" + (" (dry run)" if self.dry_run else "")
        lines = [title, "-" * max(len(title), width + 2 + 20)]
        lines += [f"{label:<{width}}  {value}" for label, value in rows]
        return "\n".join(lines)


def _reasons(counts: Counter[str], indent: str) -> list[tuple[str, str]]:
    return [(f"{indent}{reason}", f"{n:,}") for reason, n in sorted(counts.items())]
