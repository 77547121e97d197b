"""The simulated contact-center API: an aiohttp app over a :class:`Platform` and its ledger.

The platform's routes, bodies and error documents are a dialect's
(:mod:`streams.dev.simulator.dialects`); the checks below are the same in every dialect.
Routes (the generic dialect's)::

    POST /oauth/token                                      client-credentials grant
    GET  /api/v2/conversations/interactions/{id}           state and current wrap-up code
    POST /api/v2/conversations/interactions/{id}/wrapup    {"wrapupCode": {"id", "label"}}

Admin routes (the simulator's, no auth, loopback only)::

    GET  /_sim/ledger   GET /_sim/summary   GET /_sim/interactions   GET /_sim/healthz
    GET|POST /_sim/chaos   POST /_sim/expire-tokens   POST /_sim/interactions

Wrap-up POST answers, in the order they are checked: 401 (missing, unknown or expired
bearer; the dialect's check), 429 (burst or rate limit, with ``Retry-After``), injected
5xx / timeout, 404 (unknown interaction), 400 (malformed body, or a code not valid for the
queue), 409 not ready (active, or ended but not yet wrapping-up), 409 already wrapped,
200 applied (the two 409s: the dialect's ``conflict_status``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from streams.dev.simulator.chaos import retry_after_header
from streams.dev.simulator.dialects import Dialect
from streams.dev.simulator.dialects import load as load_dialect
from streams.dev.simulator.dialects.base import Refusal, Reply
from streams.dev.simulator.ledger import RequestRecord
from streams.dev.simulator.lifecycle import PostResult, State, Timeline
from streams.dev.simulator.platform import InteractionInfo, Platform


def _json(doc: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(doc), content_type="application/json")


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


class _Api:
    """The request handlers; each one appends exactly one ledger record. What the routes
    are and how their bodies look is the dialect's (:mod:`.dialects`)."""

    def __init__(self, platform: Platform, dialect: Dialect) -> None:
        self.p = platform
        self.d = dialect
        self._wrapup_routes = {(r.method, r.path) for r in dialect.routes()
                               if r.action == "wrapup"}

    def _error(self, request: web.Request, status: int, message: str, code: str,
               headers: dict[str, str] | None = None) -> web.Response:
        extra = self.d.headers(_bearer(request), self.p.clock())
        return web.Response(status=status, body=self.d.error_body(status, message, code),
                            content_type="application/json",
                            headers={**extra, **(headers or {})} or None)

    def _reply(self, request: web.Request, reply: Reply) -> web.Response:
        extra = self.d.headers(_bearer(request), self.p.clock())
        return web.Response(status=reply.status, body=reply.body or None,
                            content_type=reply.content_type if reply.body else None,
                            headers=extra or None)

    def _record(self, request: web.Request, started: float, status: int, reason: str,
                **extra: Any) -> int:
        route = request.match_info.route.resource
        pattern = route.canonical if route is not None else request.path
        return self.p.ledger.record_request(
            RequestRecord(
                at=started,
                method=request.method,
                path=request.path,
                status=status,
                reason=reason,
                duration=max(0.0, self.p.clock() - started),
                **extra,
            ),
            wrapup=(request.method, pattern) in self._wrapup_routes,
        )

    async def _gate(
        self, request: web.Request, started: float, interaction_id: str, body: bytes
    ) -> web.StreamResponse | None:
        """Latency, auth, rate limits and injected failures common to every API route."""
        p, chaos = self.p, self.p.chaos
        delay = chaos.latency_seconds + chaos.latency_jitter_seconds * p._rng.random()
        if chaos.is_slow(interaction_id):
            delay += chaos.slow_seconds
        if delay > 0:
            await asyncio.sleep(delay)
        now = p.clock()
        denied = self.d.authorize(p, request.method, request.path_qs, request.headers, body,
                                  now)
        if denied is not None:
            self._record(request, started, denied.status, denied.reason,
                         interaction_id=interaction_id)
            return self._error(request, denied.status, denied.message, denied.code)
        if p._burst_429 > 0:
            p._burst_429 -= 1
            self._record(request, started, 429, "rate_limited", interaction_id=interaction_id)
            return self._error(request, 429, "Rate limit exceeded.", "too.many.requests", {
                "Retry-After": retry_after_header(1.0, chaos.retry_after_seconds)})
        wait = p._window.admit(now, chaos.rate_limit, chaos.rate_window_seconds)
        if wait is None:
            wait = self.d.admit(_bearer(request), now)
        if wait is not None:
            self._record(request, started, 429, "rate_limited", interaction_id=interaction_id)
            return self._error(request, 429, "Rate limit exceeded.", "too.many.requests", {
                "Retry-After": retry_after_header(wait, chaos.retry_after_seconds)})
        if chaos.error_fraction and p._rng.random() < chaos.error_fraction:
            status = p._rng.choice(chaos.error_statuses)
            self._record(request, started, status, "injected_error",
                         interaction_id=interaction_id)
            return self._error(request, status, "Simulated server error.",
                               f"server.error.{status}")
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
        return self._error(request, 504, "Simulated gateway timeout.", "gateway.timeout")

    async def _admit(self, request: web.Request
                     ) -> tuple[float, str, web.StreamResponse | None]:
        """(start time, interaction ID, refusal) of a request for one interaction: the gate
        (auth, rate limits, injected faults), then 404 for an unknown interaction. The
        refusal is None when the request may go on."""
        started = self.p.clock()
        body = await request.read()  # aiohttp keeps it: the handler reads it again
        iid = self.d.request_key(self.p, request.match_info, body)
        gated = await self._gate(request, started, iid, body)
        if gated is None and (iid not in self.p
                              or self.p.state(iid, self.p.clock()) is State.ABSENT):
            self._record(request, started, 404, "not_found", interaction_id=iid)
            gated = self._error(request, 404, self.d.not_found_message(iid), "not.found")
        return started, iid, gated

    async def get_interaction(self, request: web.Request) -> web.StreamResponse:
        started, iid, refused = await self._admit(request)
        if refused is not None:
            return refused
        reply = self.d.readback(self.p, iid, self.p.clock())
        reason = "ok" if 200 <= reply.status < 300 else "no_wrapup"
        self._record(request, started, reply.status, reason, interaction_id=iid,
                     state=reply.state)
        return self._reply(request, reply)

    async def post_wrapup(self, request: web.Request) -> web.StreamResponse:
        started, iid, refused = await self._admit(request)
        if refused is not None:
            return refused
        p = self.p
        parsed = self.d.parse_wrapup(request.method, await request.read())
        if isinstance(parsed, Refusal):
            self._record(request, started, parsed.status, parsed.reason, interaction_id=iid)
            return self._error(request, parsed.status, parsed.message, parsed.code)
        code_id = parsed
        queue = p.info(iid).queue_id
        code = p._valid_codes[queue].get(code_id)
        if code is None:
            self._record(request, started, 400, "invalid_code", interaction_id=iid,
                         code_id=code_id)
            return self._error(request, 400,
                               f"Wrap-up code {code_id} is not valid for queue {queue}.",
                               "bad.request.invalid.wrapup.code")
        now = p.clock()
        state = p.state(iid, now)
        lost = (
            p.chaos.lost_response_fraction > 0
            and p._rng.random() < p.chaos.lost_response_fraction
        )
        result = p.post_wrapup(iid, code, now)
        if result is PostResult.NOT_READY:
            self._record(request, started, self.d.conflict_status, "not_ready",
                         interaction_id=iid, code_id=code_id, state=state.value)
            return self._error(request, self.d.conflict_status, *self.d.not_ready())
        overwrite = self.d.overwrite(p, iid, now) if result is PostResult.ALREADY_WRAPPED \
            else None
        if overwrite is not None:  # a platform that never refuses (Connect): a violation
            self._record(request, started, overwrite.status, "overwrote", interaction_id=iid,
                         code_id=code_id, state=State.WRAPPED.value)
            return self._reply(request, overwrite)
        if result is PostResult.ALREADY_WRAPPED:
            self._record(request, started, self.d.conflict_status, "already_wrapped",
                         interaction_id=iid, code_id=code_id, state=State.WRAPPED.value)
            return self._error(request, self.d.conflict_status, *self.d.already_wrapped())
        if lost:
            return await self._time_out(request, started, iid, "applied", code_id=code_id,
                                        state=state.value)
        reply = self.d.applied(p, iid, now)
        self._record(request, started, reply.status, "applied", interaction_id=iid,
                     code_id=code_id, state=state.value)
        return self._reply(request, reply)

    async def credentials(self, request: web.Request) -> web.StreamResponse:
        """Temporary credentials for a dialect that hands them out (Connect: the
        container-credentials endpoint botocore's chain reads)."""
        started = self.p.clock()
        reply = self.d.credentials(self.p, started)
        self._record(request, started, reply.status, "credentials_issued")
        return self._reply(request, reply)

    async def token(self, request: web.Request) -> web.StreamResponse:
        started = self.p.clock()
        form = await request.post()
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        basic = _basic_auth(request)
        if basic is not None:
            client_id, secret = basic
        auth = self.p.auth
        refused = self.d.grant_refusal({k: v for k, v in form.items() if isinstance(v, str)},
                                       auth)
        if refused is not None:
            self._record(request, started, refused[0], refused[1])
            return _json({"error": refused[1]}, refused[0])
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
        return _json({"access_token": token, "token_type": "bearer", "expires_in": int(ttl),
                      **self.d.token_fields()})

    async def discovery(self, request: web.Request) -> web.StreamResponse:
        """The dialect's discovery document (no auth: clients read it before a token)."""
        started = self.p.clock()
        reply = self.d.discovery(f"{request.scheme}://{request.host}", request.query)
        self._record(request, started, reply.status, "discovery")
        return self._reply(request, reply)


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


def build_app(platform: Platform, dialect: Dialect | None = None) -> web.Application:
    """The platform's routes (the dialect's) and the admin routes."""
    dialect = dialect or load_dialect()
    app = web.Application()
    api, admin = _Api(platform, dialect), _Admin(platform)
    actions = {"token": api.token, "readback": api.get_interaction, "wrapup": api.post_wrapup,
               "discovery": api.discovery, "credentials": api.credentials}
    routes: list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]] = [
        (r.method, r.path, actions[r.action]) for r in dialect.routes()
    ]
    routes += [
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

    def __init__(self, platform: Platform, host: str = "127.0.0.1", port: int = 0,
                 dialect: Dialect | None = None) -> None:
        self.platform = platform
        self.dialect = dialect or load_dialect()
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
        self._runner = web.AppRunner(build_app(self.platform, self.dialect), access_log=None,
                                     shutdown_timeout=1.0)
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
