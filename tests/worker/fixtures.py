"""Test harness for the real worker: a subprocess, a recording HTTP platform, a producer.

The worker runs exactly as in production (``python -m streams.cli worker``) against
the session's real broker; the platform is a real HTTP server on loopback.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.helpers import REPO, wait_for

DEFAULT_POLICY = {
    "rules": [
        {"campaign": "c-renewals", "code": {"id": "wc-renewal", "label": "Renewal - auto"}},
        {"queue": "q-billing", "code": {"id": "wc-billing", "label": "Billing - auto"}},
    ]
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def event(kind: str, interaction_id: str, *, campaign: str | None = "c-renewals",
          queue: str | None = "q-sales", ts: float | None = None, **data: Any) -> bytes:
    """A wire-format platform event (``kind``: ended, wrapping-up, wrapped)."""
    body: dict[str, Any] = {"id": interaction_id, **data}
    if campaign:
        body["campaignId"] = campaign
    if queue:
        body["queueId"] = queue
    return orjson.dumps({
        "id": uuid.uuid4().hex,
        "type": f"interaction:{kind}",
        "timestamp": round((ts or time.time()) * 1000),
        "data": body,
    })


def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes]],
            partition: int | None = None) -> None:
    """Send records and wait for every ack."""
    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for key, value in records:
                await producer.send_and_wait(topic, value, key=key, partition=partition)
        finally:
            await producer.stop()
    asyncio.run(run())


def read_all(bootstrap: str, topic: str, timeout: float = 10.0) -> list[Any]:
    """Every record currently in ``topic`` (all partitions), as aiokafka records."""
    async def run() -> list[Any]:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        try:
            parts = consumer.assignment() or set()
            deadline = time.monotonic() + timeout
            while not parts and time.monotonic() < deadline:
                await consumer.getmany(timeout_ms=100)
                parts = consumer.assignment()
            ends = await consumer.end_offsets(list(parts))
            out: list[Any] = []
            async def behind() -> bool:
                for tp, end in ends.items():
                    if await consumer.position(tp) < end:
                        return True
                return False

            while time.monotonic() < deadline and await behind():
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    out.extend(records)
            return out
        finally:
            await consumer.stop()
    return asyncio.run(run())


@dataclass
class RecordingPlatform:
    """A minimal real HTTP platform: accepts the first wrap-up per interaction, records all."""

    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    gets: list[str] = field(default_factory=list)
    delay: float = 0.0
    port: int = 0
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def posted_ids(self) -> list[str]:
        with self._lock:
            return [i for i, _ in self.posts]

    async def _post(self, request: web.Request) -> web.Response:
        iid = request.match_info["iid"]
        body = await request.json()
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self.posts.append((iid, body))
            if iid in self._codes:
                return web.json_response(
                    {"message": "The interaction is already wrapped up.", "code": "wrapped"},
                    status=409)
            self._codes[iid] = body["wrapupCode"]
        return web.json_response({"id": iid, "state": "wrapped"})

    async def _get(self, request: web.Request) -> web.Response:
        iid = request.match_info["iid"]
        with self._lock:
            self.gets.append(iid)
            code = self._codes.get(iid)
        return web.json_response({"id": iid, "state": "wrapped" if code else "wrapping-up",
                                  "wrapupCode": code})

    def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/v2/conversations/interactions/{iid}/wrapup", self._post)
        app.router.add_get("/api/v2/conversations/interactions/{iid}", self._get)
        self.port = free_port()
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            self._loop.run_until_complete(site.start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        assert ready.wait(10), "recording platform did not start"

    def stop(self) -> None:
        async def cleanup() -> None:
            await self._runner.cleanup()
        asyncio.run_coroutine_threadsafe(cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class WorkerProcess:
    """``wrapup worker`` as a child process with its own log file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.port = int(env["WRAPUP_WEB_PORT"])
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def command() -> list[str]:
        """The ``wrapup`` command as run from this checkout."""
        return [sys.executable, "-m", "streams.cli"]

    @property
    def instance_id(self) -> str:
        """The worker's static group membership ID: given, else one per app and web port,
        so a worker restarted from the same environment rejoins as the same member and
        two workers of one group (different ports) never fence each other."""
        given = self.env.get("WRAPUP_KAFKA_GROUP_INSTANCE_ID")
        return given or f"{self.env.get('WRAPUP_APP_ID', 'wrapup')}-{self.port}"

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        env = {**os.environ, **self.env, "WRAPUP_KAFKA_GROUP_INSTANCE_ID": self.instance_id}
        self.proc = subprocess.Popen(
            [*self.command(), "worker"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _probe(self, path: str) -> int | None:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=1.0).status_code
        except httpx.HTTPError:
            return None

    def wait_ready(self, timeout: float = 90.0) -> None:
        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited {self.proc.returncode}:\n{self.log_tail()}")
            return self._probe("/readyz") == 200
        try:
            wait_for(ready, timeout=timeout, interval=0.2, message="worker ready")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- worker log ---\n{self.log_tail()}") from None

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5.0).text

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels``."""
        total = 0.0
        for line in self.metrics().splitlines():
            match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$", line)
            if not match or match.group(1) != name:
                continue
            got = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
            if all(got.get(k) == v for k, v in labels.items()):
                total += float(match.group(3))
        return total

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.proc is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.proc.wait(10)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)


def worker_env(bootstrap: str, events_topic: str, platform_url: str, data_dir: Path,
               **overrides: str) -> dict[str, str]:
    """A complete worker environment for one test (unique app id and topics)."""
    app_id = f"wb-{uuid.uuid4().hex[:8]}"
    env = {
        "WRAPUP_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "WRAPUP_APP_ID": app_id,
        "WRAPUP_EVENTS_TOPIC": events_topic,
        "WRAPUP_OUTCOMES_TOPIC": f"{app_id}.outcomes",
        "WRAPUP_DEAD_LETTER_TOPIC": f"{app_id}.dead-letter",
        "WRAPUP_DATA_DIR": str(data_dir),
        "WRAPUP_POLICY_JSON": orjson.dumps(DEFAULT_POLICY).decode(),
        "WRAPUP_API_BASE_URL": platform_url,
        "WRAPUP_API_TOKEN": "test-token-not-secret",
        "WRAPUP_WEB_PORT": str(free_port()),
        "WRAPUP_TICK_INTERVAL_SECONDS": "0.5",
        "WRAPUP_KAFKA_SESSION_TIMEOUT_SECONDS": "6",
        "WRAPUP_API_RATE_LIMIT": "200",
        "WRAPUP_LOG_LEVEL": "INFO",
    }
    env.update(overrides)
    return env


Start = Callable[[dict[str, str]], WorkerProcess]


def worker_starter(tmp_path: Path) -> Iterator[Start]:
    """The ``start_worker`` fixture's body: ``start(env) -> WorkerProcess`` once ready;
    every worker started is killed when the generator is closed."""
    started: list[WorkerProcess] = []

    def start(env: dict[str, str]) -> WorkerProcess:
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log").start()
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.kill()
