"""The simulator's ledger: every request it answered and every effective wrap-up.

This is the ground truth the tests and benchmarks judge by: who set each leg's code
(the key is the interaction for a one-leg dialect, ``conversation/participant`` for a
per-leg one), when, in which state, and every POST that arrived after the interaction was
already wrapped. Records never hold credentials.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the platform answered (or dropped: ``status`` 0)."""

    at: float
    method: str
    path: str
    status: int
    reason: str
    interaction_id: str | None = None
    code_id: str | None = None
    state: str | None = None  # the interaction's state when the request was handled
    client_id: str | None = None
    duration: float = 0.0


@dataclass(frozen=True, slots=True)
class WrapupRecord:
    """The effective wrap-up of one interaction (exactly one per interaction, ever)."""

    interaction_id: str
    code_id: str
    code_label: str
    by: str  # api | agent | platform
    at: float
    state: str  # the state it was applied in (always wrapping-up on this platform)
    wrapping_up_at: float
    request_index: int | None = None  # index into the requests for an API wrap-up

    @property
    def latency(self) -> float:
        """Seconds from the interaction entering wrapping-up to this wrap-up."""
        return self.at - self.wrapping_up_at


class Ledger:
    """Append-only record with the queries tests and the comparison need."""

    def __init__(self) -> None:
        self.requests: list[RequestRecord] = []
        self.wrapup_requests: set[int] = set()  # indices of requests to a wrap-up route
        self.wrapups: dict[str, WrapupRecord] = {}
        self.duplicate_wrapups: list[WrapupRecord] = []

    def record_request(self, record: RequestRecord, *, wrapup: bool | None = None) -> int:
        """Append a request; returns its index. ``wrapup``: it came to a route that sets
        a wrap-up, whatever the dialect's method and path (the server says; None: the
        generic dialect's rule, a POST to a path ending in ``/wrapup``)."""
        self.requests.append(record)
        index = len(self.requests) - 1
        if wrapup is None:
            wrapup = record.method == "POST" and record.path.endswith("/wrapup")
        if wrapup:
            self.wrapup_requests.add(index)
        return index

    def is_wrapup(self, index: int) -> bool:
        """True when request ``index`` came to a wrap-up route (answered or not)."""
        return index in self.wrapup_requests

    def record_wrapup(self, record: WrapupRecord) -> bool:
        """Record an effective wrap-up; a second one for the same interaction is a bug in
        the platform and is kept aside (and reported) rather than replacing the first."""
        if record.interaction_id in self.wrapups:
            self.duplicate_wrapups.append(record)
            return False
        self.wrapups[record.interaction_id] = record
        return True

    # ---- queries

    def wrapup(self, interaction_id: str) -> WrapupRecord | None:
        return self.wrapups.get(interaction_id)

    def requests_for(self, interaction_id: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.interaction_id == interaction_id]

    def posts(self, interaction_id: str | None = None) -> list[RequestRecord]:
        """Wrap-up requests (all, or one ledger key's), in arrival order."""
        return [
            r
            for i, r in enumerate(self.requests)
            if i in self.wrapup_requests
            and (interaction_id is None or r.interaction_id == interaction_id)
        ]

    def applied_by_api(self, interaction_id: str) -> int:
        """How many POSTs for this interaction were applied (exactly-once means <= 1)."""
        return sum(1 for r in self.posts(interaction_id) if r.reason == "applied")

    def posts_after_wrapped(self) -> list[RequestRecord]:
        """POSTs that arrived when the interaction was already wrapped (409)."""
        return [r for r in self.posts() if r.reason == "already_wrapped"]

    def wrapped_by(self, by: str) -> list[WrapupRecord]:
        return [w for w in self.wrapups.values() if w.by == by]

    def count(self, *, method: str | None = None, status: int | None = None,
              reason: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method)
            and (status is None or r.status == status)
            and (reason is None or r.reason == reason)
        )

    def reasons(self) -> dict[str, int]:
        """Request count by reason label."""
        return dict(Counter(r.reason for r in self.requests))

    def summary(self) -> dict[str, Any]:
        """Totals: requests by status and reason, wrap-ups by who set them."""
        return {
            "requests": len(self.requests),
            "by_status": {str(k): v for k, v in Counter(r.status for r in self.requests).items()},
            "by_reason": self.reasons(),
            "wrapups": len(self.wrapups),
            "wrapups_by": dict(Counter(w.by for w in self.wrapups.values())),
            "posts_after_wrapped": len(self.posts_after_wrapped()),
            "duplicate_wrapups": len(self.duplicate_wrapups),
        }

    def to_dict(self) -> dict[str, Any]:
        """The whole ledger, JSON-ready."""
        return {
            "requests": [asdict(r) for r in self.requests],
            "wrapups": [asdict(w) for w in self.wrapups.values()],
            "duplicate_wrapups": [asdict(w) for w in self.duplicate_wrapups],
        }
