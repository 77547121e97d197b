"""The simulated contact-center API: an aiohttp app over the interactions and the ledger.

Routes (the platform's)::

    POST /oauth/token                                      client-credentials grant
    GET  /api/v2/conversations/interactions/{id}           state and current wrap-up code
    POST /api/v2/conversations/interactions/{id}/wrapup    {"wrapupCode": {"id", "label"}}

Admin routes (the simulator's, no auth, loopback only)::

    GET  /_sim/ledger   GET /_sim/summary   GET /_sim/interactions   GET /_sim/healthz
    GET|POST /_sim/chaos   POST /_sim/expire-tokens   POST /_sim/interactions

Wrap-up POST answers, in the order they are checked: 401 (missing, unknown or expired
bearer), 429 (burst or rate limit, with ``Retry-After``), injected 5xx / timeout, 404
(unknown interaction), 400 (malformed body, or a code not valid for the queue), 409 not
ready (active, or ended but not yet wrapping-up), 409 already wrapped, 200 applied.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from streams.dev.simulator.chaos import Chaos, SlidingWindow, retry_after_header
from streams.dev.simulator.ledger import Ledger, RequestRecord, WrapupRecord
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

    # ---- HTTP

    def app(self) -> web.Application:
        """The aiohttp application serving this platform."""
        return _build_app(self)


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None
           ) -> web.Response:
    body = orjson.dumps({"message": message, "code": code, "status": status})
    return web.Response(status=status, body=body, content_type="application/json",
                        headers=headers)


def _json(doc: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(doc), content_type="application/json")


class _Api:
    """The request handlers; each one appends exactly one ledger record."""

    def __init__(self, platform: Platform) -> None:
        self.p = platform

    def _record(self, request: web.Request, started: float, status: int, reason: str,
                **extra: Any) -> int:
        return self.p.ledger.record_request(
            RequestRecord(
                at=started,
                method=request.method,
                path=request.path,
                status=status,
                reason=reason,
                duration=max(0.0, self.p.clock() - started),
                **extra,
            )
        )

    async def _gate(
        self, request: web.Request, started: float, interaction_id: str
    ) -> web.StreamResponse | None:
        """Latency, auth, rate limits and injected failures common to every API route."""
        p, chaos = self.p, self.p.chaos
        delay = chaos.latency_seconds + chaos.latency_jitter_seconds * p._rng.random()
        if chaos.is_slow(interaction_id):
            delay += chaos.slow_seconds
        if delay > 0:
            await asyncio.sleep(delay)
        now = p.clock()
        denied = p.check_token(request.headers.get("Authorization"), now)
        if denied is not None:
            self._record(request, started, 401, denied[0], interaction_id=interaction_id)
            return _error(401, denied[1], denied[0].replace("_", "."))
        if p._burst_429 > 0:
            p._burst_429 -= 1
            self._record(request, started, 429, "rate_limited", interaction_id=interaction_id)
            return _error(429, "Rate limit exceeded.", "too.many.requests",
                          {"Retry-After": retry_after_header(1.0, chaos.retry_after_seconds)})
        wait = p._window.admit(now, chaos.rate_limit, chaos.rate_window_seconds)
        if wait is not None:
            self._record(request, started, 429, "rate_limited", interaction_id=interaction_id)
            return _error(429, "Rate limit exceeded.", "too.many.requests",
                          {"Retry-After": retry_after_header(wait, chaos.retry_after_seconds)})
        if chaos.error_fraction and p._rng.random() < chaos.error_fraction:
            status = p._rng.choice(chaos.error_statuses)
            self._record(request, started, status, "injected_error",
                         interaction_id=interaction_id)
            return _error(status, "Simulated server error.", f"server.error.{status}")
        if chaos.timeout_fraction and p._rng.random() < chaos.timeout_fraction:
            return await self._time_out(request, started, interaction_id, "injected_timeout")
        return None

    async def _time_out(self, request: web.Request, started: float, interaction_id: str,
                        reason: str, **extra: Any) -> web.StreamResponse:
        chaos = self.p.chaos
        if chaos.timeout_mode == "drop":
            self._record(request, started, 0, reason, interaction_id=interaction_id, **extra)
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=499)
        self._record(request, started, 504, reason, interaction_id=interaction_id, **extra)
        await asyncio.sleep(chaos.hold_seconds)
        return _error(504, "Simulated gateway timeout.", "gateway.timeout")

    async def get_interaction(self, request: web.Request) -> web.StreamResponse:
        started = self.p.clock()
        iid = request.match_info["id"]
        gated = await self._gate(request, started, iid)
        if gated is not None:
            return gated
        now = self.p.clock()
        if iid not in self.p or self.p.state(iid, now) is State.ABSENT:
            self._record(request, started, 404, "not_found", interaction_id=iid)
            return _error(404, f"Interaction {iid} not found.", "not.found")
        doc = self.p.snapshot(iid, now)
        self._record(request, started, 200, "ok", interaction_id=iid, state=doc["state"])
        return _json(doc)

    async def post_wrapup(self, request: web.Request) -> web.StreamResponse:
        started = self.p.clock()
        iid = request.match_info["id"]
        gated = await self._gate(request, started, iid)
        if gated is not None:
            return gated
        p = self.p
        if iid not in p or p.state(iid) is State.ABSENT:
            self._record(request, started, 404, "not_found", interaction_id=iid)
            return _error(404, f"Interaction {iid} not found.", "not.found")
        code_id, problem = _parse_body(await request.read())
        if code_id is None:
            self._record(request, started, 400, "bad_request", interaction_id=iid)
            return _error(400, problem, "bad.request")
        queue = p.info(iid).queue_id
        code = p._valid_codes[queue].get(code_id)
        if code is None:
            self._record(request, started, 400, "invalid_code", interaction_id=iid,
                         code_id=code_id)
            return _error(400, f"Wrap-up code {code_id} is not valid for queue {queue}.",
                          "bad.request.invalid.wrapup.code")
        now = p.clock()
        state = p.state(iid, now)
        lost = (
            p.chaos.lost_response_fraction > 0
            and p._rng.random() < p.chaos.lost_response_fraction
        )
        result = p.post_wrapup(iid, code, now)
        if result is PostResult.NOT_READY:
            self._record(request, started, 409, "not_ready", interaction_id=iid,
                         code_id=code_id, state=state.value)
            return _error(409, NOT_READY_MESSAGE, NOT_READY_CODE)
        if result is PostResult.ALREADY_WRAPPED:
            self._record(request, started, 409, "already_wrapped", interaction_id=iid,
                         code_id=code_id, state=State.WRAPPED.value)
            return _error(409, ALREADY_WRAPPED_MESSAGE, ALREADY_WRAPPED_CODE)
        if lost:
            return await self._time_out(request, started, iid, "applied", code_id=code_id,
                                        state=state.value)
        self._record(request, started, 200, "applied", interaction_id=iid, code_id=code_id,
                     state=state.value)
        return _json(p.snapshot(iid, now))

    async def token(self, request: web.Request) -> web.StreamResponse:
        started = self.p.clock()
        form = await request.post()
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        basic = _basic_auth(request)
        if basic is not None:
            client_id, secret = basic
        if form.get("grant_type") != "client_credentials":
            self._record(request, started, 400, "unsupported_grant_type")
            return _json({"error": "unsupported_grant_type"}, 400)
        auth = self.p.auth
        if not (
            isinstance(client_id, str)
            and isinstance(secret, str)
            and secrets.compare_digest(client_id, auth.client_id)
            and secrets.compare_digest(secret, auth.client_secret)
        ):
            self._record(request, started, 401, "invalid_client")
            return _json({"error": "invalid_client"}, 401)
        token, ttl = self.p.issue_token()
        self._record(request, started, 200, "token_issued", client_id=auth.client_id)
        return _json({"access_token": token, "token_type": "bearer", "expires_in": int(ttl)})


def _basic_auth(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _parse_body(raw: bytes) -> tuple[str | None, str]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None, "The request body is not valid JSON."
    code = doc.get("wrapupCode") if isinstance(doc, dict) else None
    code_id = code.get("id") if isinstance(code, dict) else None
    if not isinstance(code_id, str) or not code_id:
        return None, "wrapupCode.id is required."
    return code_id, ""


class _Admin:
    """Simulator-only routes: ledger, summary, chaos, tokens, ad-hoc interactions."""

    def __init__(self, platform: Platform) -> None:
        self.p = platform

    async def ledger(self, request: web.Request) -> web.StreamResponse:
        return _json(self.p.ledger.to_dict())

    async def summary(self, request: web.Request) -> web.StreamResponse:
        self.p.settle_all()
        doc = self.p.ledger.summary()
        doc["interactions"] = len(self.p)
        doc["states"] = self.p.states()
        return _json(doc)

    async def interactions(self, request: web.Request) -> web.StreamResponse:
        now = self.p.clock()
        return _json([self.p.snapshot(iid, now) for iid in self.p.interaction_ids()])

    async def get_chaos(self, request: web.Request) -> web.StreamResponse:
        return _json(self.p.chaos.to_dict())

    async def set_chaos(self, request: web.Request) -> web.StreamResponse:
        try:
            changes = orjson.loads(await request.read())
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object")
            burst = changes.pop("burst_429", None)
            expire = changes.pop("expire_tokens", False)
            self.p.set_chaos(**changes)
        except (ValueError, TypeError) as exc:
            return _json({"message": str(exc)}, 400)
        if burst is not None:
            self.p.burst_429(int(burst))
        if expire:
            self.p.expire_tokens()
        return _json(self.p.chaos.to_dict())

    async def expire_tokens(self, request: web.Request) -> web.StreamResponse:
        return _json({"expired": self.p.expire_tokens()})

    async def add_interaction(self, request: web.Request) -> web.StreamResponse:
        """Register one interaction with times relative to now (seconds)::

        {"id", "campaignId", "queueId", "agentId"?, "endedIn"?: 0, "transition"?: 1,
         "acwTimeout"?: 30, "agentPickAfter"?: null, "agentCode"?: null}
        """
        try:
            doc = orjson.loads(await request.read())
            info, timeline = _adhoc(self.p, doc, self.p.clock())
            self.p.add_interaction(info, timeline)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return _json({"message": f"bad interaction: {exc}"}, 400)
        return _json(self.p.snapshot(info.interaction_id), 201)

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        return _json({"status": "ok", "interactions": len(self.p)})


def _adhoc(p: Platform, doc: dict[str, Any], now: float) -> tuple[InteractionInfo, Timeline]:
    queue = str(doc["queueId"])
    info = InteractionInfo(str(doc["id"]), str(doc.get("agentId", "agent-000")),
                           str(doc["campaignId"]), queue)
    ended = now + float(doc.get("endedIn", 0.0))
    wrapping = ended + float(doc.get("transition", 1.0))
    pick = doc.get("agentPickAfter")
    agent_code = None
    if pick is not None:
        code_id = doc.get("agentCode") or p.scenario.queue(queue).agent_codes[0].id
        agent_code = p.scenario.valid_codes(queue)[code_id]
    return info, Timeline(
        created_at=min(now, ended),
        ended_at=ended,
        wrapping_up_at=wrapping,
        acw_deadline=wrapping + float(doc.get("acwTimeout", 30.0)),
        agent_wrap_at=None if pick is None else wrapping + float(pick),
        agent_code=agent_code,
    )


def _build_app(platform: Platform) -> web.Application:
    app = web.Application()
    api, admin = _Api(platform), _Admin(platform)
    routes: list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]] = [
        ("POST", TOKEN_PATH, api.token),
        ("GET", INTERACTION_PATH, api.get_interaction),
        ("POST", WRAPUP_PATH, api.post_wrapup),
        ("GET", "/_sim/ledger", admin.ledger),
        ("GET", "/_sim/summary", admin.summary),
        ("GET", "/_sim/interactions", admin.interactions),
        ("POST", "/_sim/interactions", admin.add_interaction),
        ("GET", "/_sim/chaos", admin.get_chaos),
        ("POST", "/_sim/chaos", admin.set_chaos),
        ("POST", "/_sim/expire-tokens", admin.expire_tokens),
        ("GET", "/_sim/healthz", admin.healthz),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    return app


class PlatformServer:
    """Serves a :class:`Platform` on a loopback port (0: pick a free one)."""

    def __init__(self, platform: Platform, host: str = "127.0.0.1", port: int = 0) -> None:
        self.platform = platform
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> PlatformServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(self.platform.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.SockSite(self._runner, sock)
        await site.start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> PlatformServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
