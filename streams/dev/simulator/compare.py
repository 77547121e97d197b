"""Run one workload through the baseline and through the worker, and judge both.

Each side gets a fresh platform, a fresh events topic and the *same* plan (same seed,
same parameters), and is judged only from the platform's ledger: wrap-ups applied by
us, 409s by reason, API calls per applied wrap-up, interactions left to the agent or
the ACW timeout, and latency from wrapping-up to applied. :func:`judge` and
:func:`render` (in :mod:`.report`) are pure; :func:`run_side` is the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from streams.dev.kafka.config import find_free_port
from streams.dev.simulator.baseline import Baseline, BaselineConfig
from streams.dev.simulator.bridge import Bridge, KafkaPublisher
from streams.dev.simulator.chaos import Chaos
from streams.dev.simulator.dialects import Dialect
from streams.dev.simulator.dialects import load as load_dialect
from streams.dev.simulator.lifecycle import State
from streams.dev.simulator.platform import AuthConfig, Platform
from streams.dev.simulator.report import SideReport, judge
from streams.dev.simulator.server import PlatformServer
from streams.dev.simulator.workload import Workload
from streams.kafka.admin import TopicSpec, ensure_topics

SIDES = ("baseline", "worker")
# The worker's client-side request budget must cover the workload's wrap-up rate.
DEFAULT_WORKER_ENV = {"WRAPUP_API_RATE_LIMIT": "200", "WRAPUP_TICK_INTERVAL_SECONDS": "1"}

Echo = Callable[[str], None]


def progress_line(side: str, platform: Platform, bridge: Bridge, began: float) -> str:
    """One human-readable status line of a running simulation."""
    states = platform.states()
    by = Counter(w.by for w in platform.ledger.wrapups.values())
    reasons = platform.ledger.reasons()
    return (
        f"[{side} {time.monotonic() - began:5.0f}s] "
        f"active {states.get('active', 0)}, ended {states.get('ended', 0)}, "
        f"wrapping-up {states.get('wrapping-up', 0)}, wrapped {states.get('wrapped', 0)} "
        f"(api {by['api']}, agent {by['agent']}, acw {by['platform']}); "
        f"409 not-ready {reasons.get('not_ready', 0)}, "
        f"409 already-wrapped {reasons.get('already_wrapped', 0)}; "
        f"events sent {len(bridge.published)}"
    )


# --------------------------------------------------------------------------- consumers


@dataclass(frozen=True, slots=True)
class SideContext:
    """What a consumer under test needs to reach the simulation."""

    bootstrap_servers: str
    topic: str
    partitions: int
    api_base_url: str
    auth: AuthConfig
    workload: Workload
    speed: float
    workdir: Path
    keyed: bool = True
    dialect: Dialect = field(default_factory=load_dialect)


class Consumer(Protocol):
    """A consumer under test: started before the bridge, stopped after it."""

    async def start(self, ctx: SideContext) -> None: ...

    async def stop(self) -> None: ...


class BaselineConsumer:
    """The seed's approach, in process (its delay is scaled by the speed factor)."""

    def __init__(self, delay: float = 2.5) -> None:
        self.delay = delay
        self.baseline: Baseline | None = None

    async def start(self, ctx: SideContext) -> None:
        self.baseline = Baseline(BaselineConfig(
            bootstrap_servers=ctx.bootstrap_servers,
            topic=ctx.topic,
            api_base_url=ctx.api_base_url,
            policy=ctx.workload.scenario.policy,
            client_id=ctx.auth.client_id,
            client_secret=ctx.auth.client_secret,
            delay=self.delay / ctx.speed,
            dialect=ctx.dialect,
        ))
        await self.baseline.start()

    async def stop(self) -> None:
        if self.baseline is not None:
            await self.baseline.stop()


def worker_command() -> list[str]:
    return [sys.executable, "-m", "streams.cli", "worker"]


class WorkerConsumer:
    """The real worker as a subprocess (``python -m streams.cli worker``) configured by
    ``WRAPUP_*`` variables; ready when its ``/readyz`` answers 200."""

    def __init__(self, extra_env: Mapping[str, str] | None = None,
                 command: Sequence[str] | None = None, ready_timeout: float = 120.0,
                 echo: Echo | None = None) -> None:
        self.extra_env = dict(extra_env or {})
        self.command = list(command or worker_command())
        self.ready_timeout = ready_timeout
        self.echo = echo
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self.web_port = 0

    def env(self, ctx: SideContext) -> dict[str, str]:
        app_id = f"wrapup-sim-{uuid.uuid4().hex[:8]}"
        policy = ctx.workdir / "policy.json"
        ctx.workload.scenario.write_policy(policy)
        self.web_port = find_free_port()
        env = {
            "WRAPUP_KAFKA_BOOTSTRAP_SERVERS": ctx.bootstrap_servers,
            "WRAPUP_APP_ID": app_id,
            "WRAPUP_EVENTS_TOPIC": ctx.topic,
            "WRAPUP_EVENTS_KEYED": "true" if ctx.keyed else "false",
            "WRAPUP_OUTCOMES_TOPIC": f"{app_id}.outcomes",
            "WRAPUP_DEAD_LETTER_TOPIC": f"{app_id}.dead-letter",
            "WRAPUP_DATA_DIR": str(ctx.workdir / "worker-data"),
            "WRAPUP_POLICY_FILE": str(policy),
            "WRAPUP_WEB_PORT": str(self.web_port),
        }
        env.update(DEFAULT_WORKER_ENV)
        env.update(ctx.dialect.worker_env(ctx.api_base_url, ctx.auth))
        env.update(self.extra_env)
        return env

    async def start(self, ctx: SideContext) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WRAPUP_")}
        env.update(self.env(ctx))
        self.log_path = ctx.workdir / "worker.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(self.command, env=env, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.ready_timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"worker exited with {self.proc.returncode}:\n"
                                       f"{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    resp = await http.get(f"http://127.0.0.1:{self.web_port}/readyz")
                    if resp.status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"worker not ready in {self.ready_timeout:.0f}s:\n"
                                       f"{self.log_tail()}")
                await asyncio.sleep(0.25)

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        for _ in range(300):
            if proc.poll() is not None:
                return
            await asyncio.sleep(0.1)
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------- running


@dataclass
class RunOptions:
    """How to run a side: speed, topic layout, chaos, timeouts and progress output."""

    speed: float = 1.0
    partitions: int = 4
    keyed: bool = True
    chaos: Chaos = field(default_factory=Chaos)
    baseline_delay: float = 2.5
    progress_every: float = 5.0
    extra_timeout: float = 60.0
    lead: float = 1.0  # real seconds between the consumer being ready and simulated t=0
    wait_out_of_scope: bool = False  # also wait for out-of-scope ACW timeouts
    grace: float = 2.0  # real seconds to keep listening once everything in scope is wrapped
    port: int = 0
    echo: Echo | None = None
    dialect: Dialect = field(default_factory=load_dialect)


@dataclass
class SideRun:
    """A finished side: its platform (ledger inside), bridge stats and report."""

    report: SideReport
    platform: Platform
    bridge_stats: dict[str, object]
    completed: bool


async def run_side(side: str, consumer: Consumer | None, workload: Workload,
                   bootstrap: str, options: RunOptions) -> SideRun:
    """Play ``workload`` on a fresh platform and topic with ``consumer`` listening."""
    echo = options.echo or (lambda _line: None)
    topic = f"sim-{side}-{workload.params.seed}-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [TopicSpec(topic, options.partitions)])
    auth = AuthConfig(client_id="wrapup-sim", client_secret=secrets.token_urlsafe(18))
    platform = Platform(workload.scenario, auth=auth, chaos=options.chaos,
                        seed=workload.params.seed)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"wrapup-sim-{side}-") as tmp:
        async with PlatformServer(platform, port=options.port,
                                  dialect=options.dialect) as server:
            echo(f"[{side}] platform {server.base_url} ({options.dialect.name}), topic {topic}")
            ctx = SideContext(bootstrap, topic, options.partitions, server.base_url, auth,
                              workload, options.speed, Path(tmp), options.keyed,
                              options.dialect)
            if consumer is not None:
                await consumer.start(ctx)
                echo(f"[{side}] consumer ready after {time.monotonic() - began:.1f}s")
            publisher = KafkaPublisher(bootstrap, topic)
            await publisher.start()
            bridge = Bridge(platform, workload, publisher, speed=options.speed,
                            keyed=options.keyed, dialect=options.dialect)
            try:
                await bridge.start(lead=options.lead)
                began = time.monotonic()
                completed = await _play(side, workload, platform, bridge, options, echo)
                echo(progress_line(side, platform, bridge, began))
            finally:
                await bridge.stop()
                if consumer is not None:
                    await consumer.stop()
    report = judge(side, workload, platform.ledger, speed=options.speed,
                   baseline_delay=options.baseline_delay,
                   wall_seconds=time.monotonic() - began)
    return SideRun(report, platform, bridge.stats(), completed)


async def _play(side: str, workload: Workload, platform: Platform, bridge: Bridge,
                options: RunOptions, echo: Echo) -> bool:
    """Wait until the run is over; True unless the time budget ran out.

    Over means every interaction is wrapped, or (unless ``wait_out_of_scope``) every
    in-scope one is, plus ``grace`` seconds to catch late duplicate POSTs: out-of-scope
    interactions only wait for their ACW timeout, which tells nothing about the consumer.
    """
    began = time.monotonic()
    deadline = began + workload.duration / options.speed + options.extra_timeout
    next_progress = began + options.progress_every
    in_scope = [p.interaction_id for p in workload.in_scope()]
    while time.monotonic() < deadline:
        if await bridge.wait_done(timeout=0.25):
            return True
        if not options.wait_out_of_scope and not [
            i for i in in_scope if platform.state(i) is not State.WRAPPED
        ]:
            await asyncio.sleep(options.grace)
            return True
        if time.monotonic() >= next_progress:
            echo(progress_line(side, platform, bridge, began))
            next_progress += options.progress_every
    return False
