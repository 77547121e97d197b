"""The seed's approach, kept as the baseline every claim is measured against.

On each ``interaction:ended`` message: wait a fixed delay (default 2.5 s), POST the
policy's code once, and give up on any error, 409 included. Another dialect
(:mod:`.dialects`) says how it reads ended and what it sends (Genesys: the product's own
reading and wrap-up request, once per leg). No pairing with
``wrapping-up``, no retries, no de-duplication — exactly what the project replaces.
Another dialect's records, request and credentials are its
:class:`~streams.dev.simulator.dialects.base.Dialect`'s ``baseline_*`` methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

import httpx
from aiokafka import AIOKafkaClient, AIOKafkaConsumer, TopicPartition

from streams.dev.simulator.dialects import Dialect
from streams.dev.simulator.dialects import load as load_dialect
from streams.dev.simulator.platform import TOKEN_PATH, AuthConfig
from streams.events import Event
from streams.policy import Policy

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BaselineConfig:
    """Where the baseline reads and posts, and its fixed delay (real seconds)."""

    bootstrap_servers: str
    topic: str
    api_base_url: str
    policy: Policy
    client_id: str
    client_secret: str = field(repr=False)
    delay: float = 2.5
    group_id: str | None = None  # None: no consumer group, read every partition
    timeout: float = 5.0
    dialect: Dialect = field(default_factory=load_dialect)  # what it reads and posts


@dataclass(frozen=True, slots=True)
class Attempt:
    """One baseline POST and how it ended (``status`` 0: no HTTP answer)."""

    interaction_id: str
    code_id: str
    status: int
    message: str
    posted_at: float


class Baseline:
    """An aiokafka consumer of the events topic that posts ``delay`` after each ended."""

    def __init__(self, config: BaselineConfig) -> None:
        self.config = config
        self.attempts: list[Attempt] = []
        self.ended_seen = 0
        self.receive_lags: list[float] = []  # seconds from ended to the baseline reading it
        self.out_of_scope = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._http: httpx.AsyncClient | None = None
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._posted: set[str] = set()  # legs seen ended (a once-per-leg dialect)

    async def start(self, ready_timeout: float = 30.0) -> None:
        """Connect and wait until partitions are assigned: by the group coordinator when
        ``group_id`` is set, else every partition of the topic from the beginning."""
        c = self.config
        self._http = httpx.AsyncClient(base_url=c.api_base_url, timeout=c.timeout)
        deadline = time.monotonic() + ready_timeout
        if c.group_id is None:
            self._consumer = AIOKafkaConsumer(
                bootstrap_servers=c.bootstrap_servers, enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            await self._consumer.start()
            partitions = await _partitions(c.bootstrap_servers, c.topic, deadline)
            assigned = [TopicPartition(c.topic, p) for p in sorted(partitions)]
            self._consumer.assign(assigned)
            for tp in assigned:  # resolve the start offsets now, not on the first event
                await self._consumer.position(tp)
        else:
            self._consumer = AIOKafkaConsumer(
                c.topic,
                bootstrap_servers=c.bootstrap_servers,
                group_id=c.group_id,
                auto_offset_reset="earliest",
                enable_auto_commit=True,
            )
            await self._consumer.start()
        self._loop_task = asyncio.create_task(self._consume(), name="baseline-consumer")
        while not self._consumer.assignment():
            if time.monotonic() > deadline:
                raise TimeoutError("baseline consumer got no partitions")
            await asyncio.sleep(0.05)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()
        if self._http is not None:
            await self._http.aclose()

    async def _consume(self) -> None:
        assert self._consumer is not None
        dialect = self.config.dialect
        async for message in self._consumer:
            for event in dialect.baseline_ended(message.value):
                if dialect.baseline_once_per_leg:
                    if event.key in self._posted:
                        continue
                    self._posted.add(event.key)
                self.ended_seen += 1
                self.receive_lags.append(time.time() - event.occurred_at)
                task = asyncio.create_task(self._later(event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _later(self, event: Event) -> None:
        code = self.config.policy.resolve(event.campaign_id, event.queue_id)
        if code is None:
            self.out_of_scope += 1
            return
        await asyncio.sleep(self.config.delay)
        assert self._http is not None
        method, path, body, headers = self.config.dialect.baseline_request(event, code)
        status, text = 0, ""
        try:
            headers = {**headers, "Authorization": await self._authorization()}
            resp = await self._http.request(method, path, content=body, headers=headers)
            status, text = resp.status_code, resp.text[:200]
        except httpx.HTTPError as exc:
            text = type(exc).__name__
        self.attempts.append(Attempt(event.interaction_id, code.id, status, text, time.time()))

    async def _authorization(self) -> str:
        fixed = self.config.dialect.baseline_authorization(
            AuthConfig(self.config.client_id, self.config.client_secret))
        return fixed if fixed is not None else f"Bearer {await self._bearer()}"

    async def _bearer(self) -> str:
        async with self._token_lock:
            if self._token is None or time.monotonic() >= self._token[1]:
                assert self._http is not None
                resp = await self._http.post(
                    TOKEN_PATH,
                    data={"grant_type": "client_credentials"},
                    auth=(self.config.client_id, self.config.client_secret),
                )
                resp.raise_for_status()
                doc = resp.json()
                ttl = float(doc.get("expires_in", 300))
                self._token = (str(doc["access_token"]), time.monotonic() + ttl * 0.9)
            return self._token[0]


async def _partitions(bootstrap_servers: str, topic: str, deadline: float) -> set[int]:
    """The topic's partition numbers, from fresh cluster metadata."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers)
    await client.bootstrap()
    try:
        while True:
            cluster = await client.fetch_all_metadata()
            partitions: set[int] = set(cluster.partitions_for_topic(topic) or ())
            if partitions:
                return partitions
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {topic} has no partitions")
            await asyncio.sleep(0.1)
    finally:
        await client.close()
