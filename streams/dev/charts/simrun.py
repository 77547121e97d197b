"""A short simulated run with every dashboard series in it: platform, bridge, worker, Prometheus.

The simulated platform (with chaos) serves the API on loopback, the event bridge plays a
seeded workload into a Kafka topic, a real ``wrapup worker`` process joins and posts,
and a local Prometheus scrapes the worker every second. The run is arranged so that the
rare paths happen too, deterministically or nearly so: one campaign is mapped to a code
the platform rejects (failed wrap-ups, delivery dead letters, 4xx), some events are lost
(expiries), junk events are published (rejections, event dead letters), responses are
lost or time out (409 already-wrapped, timeouts), a burst of 429s (server waits), tokens
are expired once (401, refresh), and the client rate limit is low (client waits).

Used by the live observability tests and by ``wrapup dashboards render``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
import orjson

from streams.dev.kafka import find_free_port
from streams.dev.prometheus import JOB, LocalPrometheus
from streams.dev.simulator.bridge import Bridge, KafkaPublisher
from streams.dev.simulator.chaos import Chaos
from streams.dev.simulator.platform import AuthConfig, Platform
from streams.dev.simulator.scenario import default_scenario
from streams.dev.simulator.server import PlatformServer
from streams.dev.simulator.workload import WorkloadParams, generate
from streams.kafka.admin import TopicSpec, ensure_topics_sync

T = TypeVar("T")

# A code the simulated platform does not accept for any queue: its wrap-ups fail (400).
REJECTED_CODE = {"id": "wc-retired", "label": "Retired code"}
JUNK_EVENTS = (b"not json", b"[1, 2]", b'{"type": "interaction:ended", "data": {}}')


class RunError(RuntimeError):
    """The simulated run could not start or did not finish in time."""


@dataclass(frozen=True, slots=True)
class RunSpec:
    """Size and faults of a run (simulated time runs ``speed`` times faster than real)."""

    interactions: int = 150
    rate: float = 2.0  # interactions ending per simulated second
    speed: float = 4.0
    partitions: int = 2
    seed: int = 7
    lost_fraction: float = 0.03
    agent_pick_probability: float = 0.1
    chaos: Chaos = field(default_factory=lambda: Chaos(
        error_fraction=0.05, lost_response_fraction=0.05, timeout_fraction=0.02,
        hold_seconds=1.5, latency_seconds=0.01, latency_jitter_seconds=0.05,
        retry_after_seconds=1))
    client_rate_limit: float = 12.0
    burst_429: int = 3
    scrape_interval: float = 1.0

    @property
    def real_duration(self) -> float:
        """Roughly how long the load lasts in real seconds."""
        return (self.interactions / self.rate + 30.0) / self.speed


def _policy() -> bytes:
    """The scenario's policy, plus a rule for the (otherwise out-of-scope) survey campaign
    on the support queue whose code the platform rejects."""
    doc = default_scenario().policy_document()
    rules = list(doc["rules"])  # type: ignore[call-overload]
    rules.append({"campaign": "c-survey", "queue": "q-support", "code": REJECTED_CODE})
    return orjson.dumps({"rules": rules})


class _Loop:
    """An asyncio loop in a daemon thread, for the platform server and the bridge."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="simrun-loop")
        self._thread.start()

    def run(self, factory: Callable[[], Coroutine[Any, Any, T]], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(factory(), self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class SimulatedRun:
    """Context manager: everything started on ``__enter__``; :meth:`play` runs the load."""

    def __init__(self, bootstrap: str, spec: RunSpec | None = None, *,
                 work_dir: Path | None = None, job: str = JOB,
                 rule_files: Sequence[Path] = ()) -> None:
        self.bootstrap = bootstrap
        self.spec = spec or RunSpec()
        self.job = job
        self.rule_files = list(rule_files)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if work_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="wrapup-simrun-")
            work_dir = Path(self._tmp.name)
        self.work_dir = work_dir
        self.app_id = f"wrapup-sim-{uuid.uuid4().hex[:8]}"
        self.events_topic = f"{self.app_id}.events"
        self.web_port = find_free_port()
        self.platform = Platform(default_scenario(), auth=AuthConfig(token_ttl=600.0),
                                 chaos=self.spec.chaos, seed=self.spec.seed)
        self.workload = generate(WorkloadParams(
            interactions=self.spec.interactions, rate=self.spec.rate, seed=self.spec.seed,
            lost_fraction=self.spec.lost_fraction,
            agent_pick_probability=self.spec.agent_pick_probability))
        self._loop: _Loop | None = None
        self._server: PlatformServer | None = None
        self._bridge: Bridge | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.prometheus: LocalPrometheus | None = None
        self.started_at = 0.0
        self.finished_at = 0.0

    @property
    def worker_address(self) -> str:
        return f"127.0.0.1:{self.web_port}"

    @property
    def worker_log(self) -> Path:
        return self.work_dir / "worker.log"

    def worker_env(self, platform_url: str) -> dict[str, str]:
        """The worker's WRAPUP_* settings for this run."""
        auth = self.platform.auth
        return {
            "WRAPUP_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "WRAPUP_APP_ID": self.app_id,
            "WRAPUP_EVENTS_TOPIC": self.events_topic,
            "WRAPUP_OUTCOMES_TOPIC": f"{self.app_id}.outcomes",
            "WRAPUP_DEAD_LETTER_TOPIC": f"{self.app_id}.dead-letter",
            "WRAPUP_DATA_DIR": str(self.work_dir / "worker-data"),
            "WRAPUP_POLICY_JSON": _policy().decode(),
            "WRAPUP_API_BASE_URL": platform_url,
            "WRAPUP_OAUTH_CLIENT_ID": auth.client_id,
            "WRAPUP_OAUTH_CLIENT_SECRET": auth.client_secret,
            "WRAPUP_API_TIMEOUT_SECONDS": "0.5",
            "WRAPUP_API_RATE_LIMIT": f"{self.spec.client_rate_limit:g}",
            "WRAPUP_API_MAX_ATTEMPTS": "5",
            "WRAPUP_PENDING_TTL_SECONDS": "3",
            "WRAPUP_TICK_INTERVAL_SECONDS": "0.5",
            "WRAPUP_KAFKA_SESSION_TIMEOUT_SECONDS": "6",
            "WRAPUP_WEB_HOST": "127.0.0.1",
            "WRAPUP_WEB_PORT": str(self.web_port),
            "WRAPUP_LOG_LEVEL": "INFO",
        }

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> SimulatedRun:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _start(self) -> None:
        ensure_topics_sync(self.bootstrap, [TopicSpec(self.events_topic, self.spec.partitions)])
        self._loop = _Loop()
        server = PlatformServer(self.platform)
        self._server = self._loop.run(server.start)
        env = {**os.environ, **self.worker_env(self._server.base_url)}
        with self.worker_log.open("ab") as log:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"], env=env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self._wait_ready(timeout=120.0)
        self.prometheus = LocalPrometheus([self.worker_address], job=self.job,
                                          scrape_interval=self.spec.scrape_interval,
                                          rule_files=self.rule_files,
                                          data_dir=self.work_dir / "prometheus").start()
        self.prometheus.wait_until_scraped(timeout=30.0)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://{self.worker_address}/readyz"
        while True:
            assert self.worker is not None
            if self.worker.poll() is not None:
                raise RunError(f"worker exited {self.worker.returncode}:\n{self.worker_log_tail()}")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() >= deadline:
                raise RunError(f"worker not ready in {timeout}s:\n{self.worker_log_tail()}")
            time.sleep(0.2)

    def worker_log_tail(self, lines: int = 30) -> str:
        if not self.worker_log.exists():
            return ""
        return "\n".join(self.worker_log.read_text(errors="replace").splitlines()[-lines:])

    def play(self, timeout: float | None = None) -> dict[str, Any]:
        """Run the whole workload plus the injected faults; return the bridge's stats.

        Returns once every interaction is wrapped on the platform and the worker has no
        pending or in-flight work left (or raises :class:`RunError` after ``timeout``).
        """
        assert self._loop is not None and self._server is not None
        timeout = timeout or self.spec.real_duration * 3 + 60.0
        self.started_at = time.time()

        async def start() -> Bridge:
            publisher = KafkaPublisher(self.bootstrap, self.events_topic)
            await publisher.start()
            bridge = Bridge(self.platform, self.workload, publisher, speed=self.spec.speed)
            await bridge.start()
            for junk in JUNK_EVENTS:
                await publisher.send(None, junk)
            return bridge

        bridge = self._bridge = self._loop.run(start)
        # Inject the one-off faults while wrap-ups are being posted; responses are lost
        # until two wrap-ups have been applied without their answer (or for 15 s at most).
        fault_at = self.started_at + self.spec.interactions / self.spec.rate / self.spec.speed * 0.4
        deadline = time.monotonic() + timeout
        injected = restored = False
        window_end, lost_before = 0.0, 0
        while not self._loop.run(lambda: bridge.wait_done(0.5)):
            if not injected and time.time() >= fault_at:
                lost_before = self._lost_responses()
                self._loop.run(self._inject_faults)
                injected, window_end = True, time.monotonic() + 15.0
            if injected and not restored and (
                    self._lost_responses() >= lost_before + 2
                    or time.monotonic() >= window_end):
                self._loop.run(self._restore_chaos)
                restored = True
            if time.monotonic() >= deadline:
                raise RunError(f"bridge not done in {timeout}s: {bridge.stats()}")
            self._check_worker()
        self._wait_worker_idle(deadline)
        self.finished_at = time.time()
        return bridge.stats()

    def _lost_responses(self) -> int:
        """Wrap-ups the platform applied while the client got no answer."""
        return self.platform.ledger.count(status=504, reason="applied")

    async def _inject_faults(self) -> None:
        """A burst of 429s, every token expired (401 then a refresh), and responses lost
        after the wrap-up is applied (the retry then gets 409 already-wrapped)."""
        self.platform.burst_429(self.spec.burst_429)
        self.platform.expire_tokens()
        self.platform.set_chaos(lost_response_fraction=1.0)

    async def _restore_chaos(self) -> None:
        self.platform.set_chaos(lost_response_fraction=self.spec.chaos.lost_response_fraction)

    def _check_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is not None:
            raise RunError(f"worker exited {self.worker.returncode}:\n{self.worker_log_tail()}")

    def _wait_worker_idle(self, deadline: float) -> None:
        """Wait until the worker has nothing pending, dispatching or in flight."""
        assert self.prometheus is not None
        idle = (f'sum(wrapup_table_entries{{status=~"pending|dispatching", job="{self.job}"}})'
                f' + sum(wrapup_dispatch_in_flight{{job="{self.job}"}}) == 0')
        while not self.prometheus.query(idle):
            if time.monotonic() >= deadline:
                raise RunError("worker still busy at the deadline")
            self._check_worker()
            time.sleep(0.5)

    def close(self) -> None:
        """Stop everything this run started, in reverse order."""
        if self.prometheus is not None:
            self.prometheus.stop()
            self.prometheus.close()
            self.prometheus = None
        if self.worker is not None:
            if self.worker.poll() is None:
                os.killpg(self.worker.pid, signal.SIGTERM)
                try:
                    self.worker.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(self.worker.pid, signal.SIGKILL)
                    self.worker.wait(10)
            self.worker = None
        if self._loop is not None:
            bridge, server = self._bridge, self._server
            if bridge is not None:
                self._loop.run(bridge.stop)
            if server is not None:
                self._loop.run(server.stop)
            self._loop.close()
            self._loop = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
