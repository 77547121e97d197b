"""End-to-end delivery harness: the simulator in a background thread, and the ledger verdict.

The simulated platform API, its event bridge (publishing lifecycle events to Kafka) and
tails of the worker's outcomes and dead-letter topics run on one event loop in a daemon
thread, so the test thread can start, SIGKILL and restart real worker processes and wait
on conditions. Everything that touches the simulator's state goes through
:meth:`Simulator.call`, which runs on that loop (no concurrent mutation).

:func:`judge` turns the simulator's ledger and the outcomes topic into a :class:`Verdict`
of issue 4's "exactly once": every eligible interaction (in scope, both events published,
a code the platform accepts) wrapped exactly once, by us unless the agent or the platform
wrapped it first; nothing of ours on any other interaction; and no POST of ours after our
wrap-up was applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.dev.simulator.bridge import Bridge, KafkaPublisher
from streams.dev.simulator.chaos import Chaos
from streams.dev.simulator.dialects import Dialect
from streams.dev.simulator.dialects import load as load_dialect
from streams.dev.simulator.distributions import fixed
from streams.dev.simulator.platform import AuthConfig, Platform
from streams.dev.simulator.server import PlatformServer
from streams.dev.simulator.workload import PlannedInteraction, Workload, WorkloadParams, generate
from streams.policy import Policy

T = TypeVar("T")
STATIC_TOKEN = "test-token-not-secret"  # what worker_env configures
DONE_OUTCOMES = frozenset({"applied", "already_applied"})
PERMANENT_REASONS = frozenset({"bad_request", "unauthorized", "forbidden", "not_found",
                               "client_error", "token_rejected"})


def make_workload(
    interactions: int = 1000,
    *,
    rate: float = 150.0,
    speed: float = 20.0,
    acw_timeout: float = 60.0,
    seed: int = 7,
    **params: Any,
) -> Workload:
    """A plan whose real-time arrival ``rate`` is per second and ACW timeout in seconds,
    with every other duration of the realistic defaults compressed ``speed`` times
    (transition median 1 s / 20 = 50 ms)."""
    return generate(WorkloadParams(
        interactions=interactions, rate=rate / speed, seed=seed,
        acw_timeout=fixed(acw_timeout * speed), **params,
    ))


@dataclass
class Tail:
    """Every record seen so far on one topic (key, value, headers), appended in order,
    and the last JSON value of each key."""

    topic: str
    records: list[tuple[bytes | None, bytes, dict[str, bytes]]] = field(default_factory=list)
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, key: bytes | None, value: bytes, headers: dict[str, bytes]) -> None:
        self.records.append((key, value, headers))
        if key is not None:
            self.latest[key.decode()] = orjson.loads(value)

    def last_by_key(self) -> dict[str, dict[str, Any]]:
        return dict(self.latest)


class Simulator:
    """The platform API and the event bridge on a loop of their own (a daemon thread)."""

    def __init__(self, workload: Workload, *, bootstrap: str, topic: str, speed: float = 20.0,
                 auth: AuthConfig | None = None, chaos: Chaos | None = None,
                 platform_type: type[Platform] = Platform, dialect: Dialect | None = None
                 ) -> None:
        self.workload = workload
        self.dialect = dialect or load_dialect()
        self.bootstrap = bootstrap
        self.topic = topic
        self.speed = speed
        self.platform = platform_type(workload.scenario, auth=auth or AuthConfig(
            static_token=STATIC_TOKEN), chaos=chaos)
        self.server = PlatformServer(self.platform, dialect=self.dialect)
        self.bridge: Bridge | None = None
        self.tails: dict[str, Tail] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="simulator")

    # ---- lifecycle
    def __enter__(self) -> Simulator:
        self._thread.start()
        self.run(self.server.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self._shutdown(), timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.bridge is not None:
            await self.bridge.stop()
        await self.server.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run a coroutine on the simulator's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def call(self, fn: Callable[[Platform], T], timeout: float = 30.0) -> T:
        """``fn(platform)`` on the simulator's loop (safe against concurrent requests)."""
        fut: Future[T] = Future()

        def go() -> None:
            try:
                fut.set_result(fn(self.platform))
            except BaseException as exc:
                fut.set_exception(exc)

        self._loop.call_soon_threadsafe(go)
        return fut.result(timeout)

    def start_bridge(self, lead: float = 0.2) -> None:
        """Register the planned interactions and start publishing their events."""
        async def start() -> None:
            publisher = KafkaPublisher(self.bootstrap, self.topic)
            await publisher.start()
            self.bridge = Bridge(self.platform, self.workload, publisher, speed=self.speed,
                                 dialect=self.dialect)
            await self.bridge.start(lead=lead)
        self.run(start())

    def bridge_error(self) -> BaseException | None:
        return None if self.bridge is None else self.bridge.error

    def tail(self, topic: str, partitions: int) -> Tail:
        """Start collecting every record of ``topic`` (from the beginning)."""
        tail = Tail(topic)
        self.tails[topic] = tail

        async def follow() -> None:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap,
                                        enable_auto_commit=False)
            await consumer.start()
            try:
                parts = [TopicPartition(topic, p) for p in range(partitions)]
                consumer.assign(parts)
                await consumer.seek_to_beginning(*parts)
                while True:
                    batch = await consumer.getmany(timeout_ms=200)
                    for records in batch.values():
                        for r in records:
                            tail.add(r.key, r.value or b"", {k: bytes(v) for k, v in r.headers})
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

        async def start() -> None:
            self._tasks.append(asyncio.ensure_future(follow()))
        self.run(start())
        return tail

    def posts(self) -> int:
        """Wrap-up POSTs the platform has answered so far."""
        return self.call(lambda p: len(p.ledger.posts()))

    def count(self, **match: Any) -> int:
        """Requests whose fields equal ``match`` (e.g. ``reason="injected_error"``)."""
        return self.call(lambda p: sum(
            1 for r in p.ledger.requests if all(getattr(r, k) == v for k, v in match.items())))


# --------------------------------------------------------------------------- verdict


@dataclass
class Expectation:
    """What the worker should do for each planned interaction, from its policy."""

    eligible: dict[str, str]  # ID -> the code we must apply (unless someone wraps first)
    permanent: set[str]  # in scope, but the code is one the platform refuses (400)
    ineligible: set[str]  # out of scope, or an ended/wrapping-up event was never published

    @classmethod
    def of(cls, workload: Workload, policy: Policy) -> Expectation:
        eligible: dict[str, str] = {}
        permanent: set[str] = set()
        ineligible: set[str] = set()
        for p in workload.interactions:
            code = policy.resolve(p.campaign_id, p.queue_id)
            if code is None or _lost_pair_event(p):
                ineligible.add(p.interaction_id)
            elif code.id in workload.scenario.valid_codes(p.queue_id):
                eligible[p.interaction_id] = code.id
            else:
                permanent.add(p.interaction_id)
        return cls(eligible, permanent, ineligible)


def _lost_pair_event(p: PlannedInteraction) -> bool:
    return p.ended_event.lost or p.wrapping_up_event.lost


@dataclass
class Verdict:
    """The ledger's and the outcomes topic's judgement of one run."""

    eligible: int = 0
    applied_by_us: int = 0
    wrapped_first_by: dict[str, int] = field(default_factory=dict)
    posts: int = 0
    gets: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"eligible={self.eligible} applied_by_us={self.applied_by_us} "
                f"wrapped_first_by={self.wrapped_first_by} posts={self.posts} "
                f"gets={self.gets} outcomes={self.outcomes} violations={len(self.violations)}")


def unsettled(expect: Expectation, tail: Tail) -> Callable[[Platform], list[str]]:
    """``fn(platform)``: the eligible/permanent IDs not yet finished (no wrap-up in the
    ledger, or no outcome record). Cheap: it settles only the IDs still waiting."""
    def unsettled(p: Platform) -> list[str]:
        outcomes = tail.latest
        waiting = []
        for i in expect.eligible:
            if i not in p.ledger.wrapups:
                p.settle(i)
            if i not in p.ledger.wrapups or i not in outcomes:
                waiting.append(i)
        return waiting + [i for i in expect.permanent if i not in outcomes]
    return unsettled


def judge(expect: Expectation, tail: Tail) -> Callable[[Platform], Verdict]:
    """``fn(platform) -> Verdict`` (run it with :meth:`Simulator.call`)."""
    def run(p: Platform) -> Verdict:
        p.settle_all()
        outcomes = tail.last_by_key()
        ledger = p.ledger
        v = Verdict(eligible=len(expect.eligible))
        posts: dict[str, list[int]] = {}
        for index, r in enumerate(ledger.requests):
            if ledger.is_wrapup(index) and r.interaction_id:
                posts.setdefault(r.interaction_id, []).append(index)
                v.posts += 1
            elif r.method == "GET":
                v.gets += 1
        for doc in outcomes.values():
            key = f"{doc['outcome']}/{doc['reason']}"
            v.outcomes[key] = v.outcomes.get(key, 0) + 1
        bad = v.violations.append
        if ledger.duplicate_wrapups:
            bad(f"platform recorded a second wrap-up: {ledger.duplicate_wrapups[:3]}")
        for iid, code in expect.eligible.items():
            wrap = ledger.wrapups.get(iid)
            report = outcomes.get(iid)
            ours = [i for i in posts.get(iid, [])
                    if ledger.requests[i].reason == "applied"]
            if wrap is None:
                bad(f"{iid}: eligible but never wrapped")
                continue
            if report is None:
                bad(f"{iid}: no outcome record")
                continue
            if wrap.by == "api":
                v.applied_by_us += 1
                if wrap.code_id != code:
                    bad(f"{iid}: we applied {wrap.code_id}, policy says {code}")
                if len(ours) != 1:
                    bad(f"{iid}: {len(ours)} applied POSTs")
                assert wrap.request_index is not None
                late = [i for i in posts.get(iid, []) if i > wrap.request_index]
                if late:
                    bad(f"{iid}: {len(late)} POST(s) after our wrap-up was applied: "
                        f"{[ledger.requests[i].reason for i in late]}")
                if report["outcome"] not in DONE_OUTCOMES:
                    bad(f"{iid}: applied by us but the outcome says {report['outcome']}")
            else:
                v.wrapped_first_by[wrap.by] = v.wrapped_first_by.get(wrap.by, 0) + 1
                if report["outcome"] != "skipped":
                    bad(f"{iid}: wrapped by {wrap.by} first but outcome {report['outcome']}")
        for iid in expect.ineligible | expect.permanent:
            wrap = ledger.wrapups.get(iid)
            if wrap is not None and wrap.by == "api":
                bad(f"{iid}: ineligible but wrapped by us")
        for iid in expect.ineligible:
            if posts.get(iid):
                bad(f"{iid}: ineligible (out of scope or an event lost) but POSTed")
        for iid in expect.permanent:
            final = outcomes.get(iid)
            wrap = ledger.wrapups.get(iid)
            allowed = {"failed"} if wrap is None else {"failed", "skipped"}
            if final is None or final["outcome"] not in allowed:
                bad(f"{iid}: refused code, outcome {final and final['outcome']}")
        return v
    return run


def percentiles(values: list[float]) -> dict[str, float]:
    """p50 / p95 / p99 / max of ``values`` (seconds, rounded to ms)."""
    if not values:
        return {}
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else \
        ordered * 99
    return {"n": len(ordered), "p50": round(q[49], 3), "p95": round(q[94], 3),
            "p99": round(q[98], 3), "max": round(ordered[-1], 3)}
