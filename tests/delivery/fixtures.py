"""Test doubles for the delivery tests: virtual time and a scripted platform (MockTransport)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from streams.config import Settings
from streams.delivery import Dispatcher
from streams.platforms.generic.answers import NOT_READY_MESSAGE
from streams.policy import WrapupCode

CODE = WrapupCode("wc-renewal", "Renewal - auto")
BASE_URL = "http://platform.test"
SECRET = "s3cr3t-CLIENT-secret-value"
TOKEN_PREFIX = "tok-SENSITIVE-"
STATIC_TOKEN = "static-BEARER-token-value"
POLICY = '{"rules": [{"queue": "q", "code": {"id": "wc-renewal", "label": "Renewal - auto"}}]}'
START = 1_800_000_000.0


class VirtualTime:
    """A clock that only moves when every task is waiting on one of its sleeps.

    ``sleep`` parks the caller until the driver advances ``now`` to its wake time; the
    driver first lets every runnable task run (MockTransport does no real I/O), so
    concurrent sleeps overlap as they would in real time, and tests finish instantly.
    """

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now - START + 100.0

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.now + max(0.0, delay), next(self._seq), fut))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.ensure_future(self._drive())
        await fut

    async def _drive(self) -> None:
        while self._heap:
            for _ in range(200):  # let every runnable task reach its next wait
                await asyncio.sleep(0)
            if not self._heap:
                return
            when, _, fut = heapq.heappop(self._heap)
            if fut.done():
                continue
            self.now = max(self.now, when)
            fut.set_result(None)


def reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    content = b"" if body is None else orjson.dumps(body)
    return httpx.Response(status, content=content, headers=headers)


def not_ready() -> httpx.Response:
    return reply(409, {"message": NOT_READY_MESSAGE})


def already() -> httpx.Response:
    return reply(409, {"message": "The interaction has already been wrapped up.",
                       "code": "conversation.wrapup.already"})


def interaction(state: str, code_id: str | None = None) -> httpx.Response:
    doc: dict[str, Any] = {"id": "int-1", "state": state}
    if code_id is not None:
        doc["wrapupCode"] = {"id": code_id, "label": "x"}
    return reply(200, doc)


Script = list[httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]]


@dataclass
class Seen:
    """One request the fake platform received."""

    method: str
    path: str
    kind: str  # token, wrapup, interaction
    at: float
    headers: httpx.Headers
    body: bytes


@dataclass
class FakePlatform:
    """Answers each kind of request from a script (the last entry repeats)."""

    clock: VirtualTime
    posts: Script = field(default_factory=lambda: [reply(200, {})])
    gets: Script = field(default_factory=lambda: [interaction("wrapping-up")])
    tokens: Script = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    token_lifetime: float = 3600

    def __post_init__(self) -> None:
        self._minted = itertools.count(1)

    def of(self, kind: str) -> list[Seen]:
        return [s for s in self.seen if s.kind == kind]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        if path == "/oauth/token":
            kind, script = "token", self.tokens
        elif request.method == "POST":
            kind, script = "wrapup", self.posts
        else:
            kind, script = "interaction", self.gets
        # a copy: an auth flow re-sends the same request object with a new Authorization
        self.seen.append(Seen(request.method, path, kind, self.clock.now,
                              httpx.Headers(request.headers), request.read()))
        if kind == "token" and not script:
            token = f"{TOKEN_PREFIX}{next(self._minted)}"
            return reply(200, {"access_token": token, "token_type": "Bearer",
                               "expires_in": self.token_lifetime})
        entry = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(entry, Exception):
            raise entry
        if callable(entry) and not isinstance(entry, httpx.Response):
            return entry(request)
        return entry


def settings(**env: str) -> Settings:
    base = {"WRAPUP_POLICY_JSON": POLICY, "WRAPUP_API_BASE_URL": BASE_URL,
            "WRAPUP_API_RATE_LIMIT": "1000", "WRAPUP_API_MAX_ATTEMPTS": "8"}
    return Settings.from_env({**base, **env})


def oauth_env(**extra: str) -> dict[str, str]:
    return {"WRAPUP_OAUTH_CLIENT_ID": "bridge-client", "WRAPUP_OAUTH_CLIENT_SECRET": SECRET,
            "WRAPUP_OAUTH_TOKEN_URL": "/oauth/token", **extra}


def make(platform: FakePlatform, *, seed: int | None = None, **env: str) -> Dispatcher:
    """A dispatcher on the fake platform and its virtual time; ``seed`` fixes the backoff
    jitter (a tiny jittered backoff can put a request inside the limiter's interval)."""
    return Dispatcher.from_settings(
        settings(**env),
        transport=platform.transport(),
        clock=platform.clock.time,
        monotonic=platform.clock.monotonic,
        sleep=platform.clock.sleep,
        **({} if seed is None else {"rand": random.Random(seed)}),
    )
