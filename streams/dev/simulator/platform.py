"""The simulated contact-center platform: interactions, their lifecycles, tokens, chaos.

:class:`Platform` is the model; :mod:`~streams.dev.simulator.server` serves it over HTTP
(the platform's routes and the simulator's admin routes, documented there).
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streams.dev.simulator.chaos import Chaos, SlidingWindow
from streams.dev.simulator.ledger import Ledger, WrapupRecord
from streams.dev.simulator.lifecycle import (
    By,
    Lifecycle,
    PostResult,
    State,
    Timeline,
    Transition,
    post_wrapup,
    settle,
)
from streams.dev.simulator.scenario import Scenario, default_scenario
from streams.policy import WrapupCode

INTERACTION_PATH = "/api/v2/conversations/interactions/{id}"
WRAPUP_PATH = INTERACTION_PATH + "/wrapup"
TOKEN_PATH = "/oauth/token"

NOT_READY_MESSAGE = "The interaction is not in a state that allows wrap-up."
NOT_READY_CODE = "conversation.wrapup.not.allowed"
ALREADY_WRAPPED_MESSAGE = "The interaction has already been wrapped up."
ALREADY_WRAPPED_CODE = "conversation.wrapup.already.applied"

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """OAuth2 client credentials the simulator accepts, and how long tokens live."""

    client_id: str = "wrapup-sim"
    client_secret: str = field(default="wrapup-sim-secret", repr=False)
    token_ttl: float = 3600.0
    static_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class InteractionInfo:
    """What the platform knows about an interaction besides its lifecycle."""

    interaction_id: str
    agent_id: str
    campaign_id: str
    queue_id: str


Listener = Callable[[InteractionInfo, Transition], None]


@dataclass(slots=True)
class _Entry:
    info: InteractionInfo
    lifecycle: Lifecycle


class Platform:
    """The platform's state: interactions, tokens, chaos and the ledger (Python API).

    Everything is driven by ``clock`` (default ``time.time``); transitions are derived
    from each interaction's timeline when touched (:meth:`settle`), and every one is
    passed to the listeners exactly once, which is how the event bridge learns of them.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        auth: AuthConfig | None = None,
        chaos: Chaos | None = None,
        clock: Clock = time.time,
        seed: int = 0,
    ) -> None:
        self.scenario = scenario or default_scenario()
        self.auth = auth or AuthConfig()
        self.chaos = chaos or Chaos()
        self.clock = clock
        self.ledger = Ledger()
        self._rng = random.Random(seed)
        self._entries: dict[str, _Entry] = {}
        self._tokens: dict[str, float] = {}  # token -> expiry (clock seconds)
        self._listeners: list[Listener] = []
        self._window = SlidingWindow()
        self._burst_429 = 0
        self._valid_codes = {q.id: self.scenario.valid_codes(q.id) for q in self.scenario.queues}

    # ---- interactions

    def add_interaction(self, info: InteractionInfo, timeline: Timeline) -> None:
        """Register an interaction with its planned timeline (IDs are unique)."""
        if info.interaction_id in self._entries:
            raise ValueError(f"interaction {info.interaction_id} already exists")
        if info.queue_id not in self._valid_codes:
            raise ValueError(f"unknown queue {info.queue_id}")
        self._entries[info.interaction_id] = _Entry(
            info, Lifecycle(timeline, self.scenario.acw_timeout_code)
        )

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(info, transition)`` for every transition, once, in order."""
        self._listeners.append(listener)

    def __contains__(self, interaction_id: object) -> bool:
        return interaction_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def interaction_ids(self) -> list[str]:
        return list(self._entries)

    def info(self, interaction_id: str) -> InteractionInfo:
        return self._entries[interaction_id].info

    def lifecycle(self, interaction_id: str) -> Lifecycle:
        return self._entries[interaction_id].lifecycle

    def state(self, interaction_id: str, now: float | None = None) -> State:
        return self.lifecycle(interaction_id).state_at(self.clock() if now is None else now)

    def settle(self, interaction_id: str, now: float | None = None) -> list[Transition]:
        """Materialize the interaction's due transitions (agent/ACW wraps included)."""
        entry = self._entries[interaction_id]
        lc, transitions = settle(entry.lifecycle, self.clock() if now is None else now)
        self._commit(entry, lc, transitions)
        return transitions

    def settle_all(self, now: float | None = None) -> int:
        """Settle every interaction; returns how many transitions were emitted."""
        now = self.clock() if now is None else now
        return sum(len(self.settle(iid, now)) for iid in self._entries)

    def unwrapped(self, now: float | None = None) -> list[str]:
        """Interactions not wrapped yet at ``now``."""
        now = self.clock() if now is None else now
        return [
            iid
            for iid, e in self._entries.items()
            if e.lifecycle.state_at(now) is not State.WRAPPED
        ]

    def post_wrapup(
        self, interaction_id: str, code: WrapupCode, now: float | None = None
    ) -> PostResult:
        """Our POST, without HTTP (validity of the code is not checked here)."""
        entry = self._entries.get(interaction_id)
        if entry is None:
            return PostResult.ABSENT
        lc, result, transitions = post_wrapup(
            entry.lifecycle, self.clock() if now is None else now, code
        )
        self._commit(entry, lc, transitions)
        return result

    def snapshot(self, interaction_id: str, now: float | None = None) -> dict[str, Any]:
        """The interaction as the GET endpoint shows it (after settling it)."""
        now = self.clock() if now is None else now
        self.settle(interaction_id, now)
        entry = self._entries[interaction_id]
        lc = entry.lifecycle
        wrap = lc.wrap
        state = lc.state_at(now)
        doc: dict[str, Any] = {
            "id": entry.info.interaction_id,
            "state": state.value,
            "agentId": entry.info.agent_id,
            "campaignId": entry.info.campaign_id,
            "queueId": entry.info.queue_id,
            "wrapupCode": None if wrap is None else {"id": wrap.code.id, "label": wrap.code.label},
            "wrapupSource": None if wrap is None else wrap.by.value,
        }
        if state in (State.ENDED, State.WRAPPING_UP, State.WRAPPED):
            doc["acwDeadline"] = round(lc.timeline.acw_deadline * 1000)
        return doc

    def states(self, now: float | None = None) -> dict[str, int]:
        """How many interactions are in each state at ``now``."""
        now = self.clock() if now is None else now
        counts: dict[str, int] = {}
        for e in self._entries.values():
            key = e.lifecycle.state_at(now).value
            counts[key] = counts.get(key, 0) + 1
        return counts

    def _commit(self, entry: _Entry, lc: Lifecycle, transitions: list[Transition]) -> None:
        entry.lifecycle = lc
        for t in transitions:
            by_api = t.wrap is not None and t.wrap.by is By.API
            if t.wrap is not None:
                self.ledger.record_wrapup(
                    WrapupRecord(
                        interaction_id=entry.info.interaction_id,
                        code_id=t.wrap.code.id,
                        code_label=t.wrap.code.label,
                        by=t.wrap.by.value,
                        at=t.wrap.at,
                        state=t.wrap.state_before.value,
                        wrapping_up_at=lc.timeline.wrapping_up_at,
                        request_index=len(self.ledger.requests) if by_api else None,
                    )
                )
            for listener in self._listeners:
                listener(entry.info, t)

    # ---- tokens and chaos

    def issue_token(self, now: float | None = None) -> tuple[str, float]:
        """A new bearer token and its lifetime in seconds."""
        now = self.clock() if now is None else now
        token = secrets.token_urlsafe(24)
        self._tokens[token] = now + self.auth.token_ttl
        return token, self.auth.token_ttl

    def expire_tokens(self) -> int:
        """Forced expiry: every issued token is rejected from now on (401 expired)."""
        now = self.clock()
        for token in self._tokens:
            self._tokens[token] = min(self._tokens[token], now)
        return len(self._tokens)

    def set_chaos(self, **changes: Any) -> Chaos:
        """Change chaos settings at runtime (unknown names raise ``ValueError``)."""
        self.chaos = self.chaos.updated(changes)
        return self.chaos

    def burst_429(self, count: int) -> None:
        """The next ``count`` API requests are answered 429."""
        self._burst_429 = max(0, count)

    def check_token(self, header: str | None, now: float) -> tuple[str, str] | None:
        """None when authorized, else (reason, message) for a 401."""
        if not header or not header.lower().startswith("bearer "):
            return "unauthorized", "Authentication required: missing bearer token."
        token = header[7:].strip()
        if self.auth.static_token is not None and secrets.compare_digest(
            token, self.auth.static_token
        ):
            return None
        expiry = self._tokens.get(token)
        if expiry is None:
            return "token_invalid", "The access token is invalid."
        if now >= expiry:
            return "token_expired", "The access token has expired."
        return None
