"""Topic administration: create topics, wait for their leaders, describe them, probe a broker.

:class:`Admin` wraps one aiokafka admin client; every failure is a one-line
:class:`~streams.kafka.errors.KafkaAdminError`. The module functions are the short forms
for scripts, tests and the development broker (:func:`ensure_topics_sync` blocks, and
works from inside a running event loop too).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

from aiokafka import AIOKafkaClient
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from streams.kafka.errors import KafkaAdminError, start_client
from streams.kafka.security import KafkaSecurity

__all__ = [
    "Admin",
    "KafkaAdminError",
    "TopicSpec",
    "describe_topic_config",
    "ensure_topics",
    "ensure_topics_sync",
    "probe_broker",
    "run_sync",
]

_T = TypeVar("_T")


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: name, partition count and topic-level config."""

    name: str
    partitions: int = 1
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=dict)


class Admin:
    """One admin client (``async with Admin(servers) as admin: ...``)."""

    def __init__(self, bootstrap_servers: str, *, client_id: str | None = None,
                 timeout: float = 30.0, security: KafkaSecurity | None = None) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.timeout = timeout
        extra: dict[str, Any] = {} if client_id is None else {"client_id": client_id}
        extra.update((security or KafkaSecurity()).client_options())
        self._client = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers,
                                           request_timeout_ms=int(timeout * 1000), **extra)

    async def start(self) -> None:
        """Connect; :class:`KafkaAdminError` if the broker cannot be reached."""
        await start_client(self._client.start(), self._client.close, self.bootstrap_servers,
                           self.timeout, KafkaAdminError)

    async def close(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> Admin:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def _describe(self, topics: Sequence[str] | None) -> list[dict[str, Any]]:
        try:
            described = await asyncio.wait_for(
                self._client.describe_topics(None if topics is None else list(topics)),
                self.timeout)
        except (KafkaError, TimeoutError) as exc:
            what = "topics" if topics is None else ", ".join(repr(t) for t in topics)
            raise KafkaAdminError(f"cannot describe {what} on {self.bootstrap_servers}: "
                                  f"{type(exc).__name__}") from None
        return list(described)

    async def partition_counts(self, topics: Sequence[str] | None = None) -> dict[str, int]:
        """``{topic: partition count}`` of the existing ``topics`` (None: every topic)."""
        return {doc["topic"]: len(doc["partitions"]) for doc in await self._describe(topics)
                if not doc.get("error_code") and doc.get("partitions")}

    async def partitions(self, topic: str) -> list[int] | None:
        """The topic's partition numbers, or None if it does not exist."""
        for doc in await self._describe([topic]):
            if doc.get("topic") == topic and not doc.get("error_code") and doc.get("partitions"):
                return sorted(int(p["partition"]) for p in doc["partitions"])
        return None

    async def create(self, specs: Sequence[TopicSpec]) -> dict[str, bool]:
        """Create the topics unless they exist; ``{name: created}``. An existing topic is
        left as it is, whatever its settings."""
        if not specs:
            return {}
        topics = [NewTopic(s.name, s.partitions, s.replication_factor,
                           topic_configs=dict(s.config)) for s in specs]
        try:
            response = await self._client.create_topics(topics,
                                                        timeout_ms=int(self.timeout * 1000))
        except TopicAlreadyExistsError:
            return {s.name: False for s in specs}
        except KafkaError as exc:
            raise KafkaAdminError(f"creating topics on {self.bootstrap_servers} failed: "
                                  f"{type(exc).__name__}") from None
        created: dict[str, bool] = {}
        for error in getattr(response, "topic_errors", ()):
            name, code = error[0], error[1]
            if code in (0, TopicAlreadyExistsError.errno):
                created[name] = code == 0
            else:
                message = f": {error[2]}" if len(error) > 2 and error[2] else ""
                raise KafkaAdminError(f"creating topic {name!r} failed with Kafka error "
                                      f"{code}{message}")
        return created

    async def wait_for_leaders(self, want: Mapping[str, int], deadline: float) -> None:
        """Wait until each topic has ``want[topic]`` partitions, every one with a leader
        (``deadline`` is a :func:`time.monotonic` time)."""
        pending = dict(want)
        while pending:
            for doc in await self._describe(list(pending)):
                name, parts = doc["topic"], doc["partitions"]
                if (doc["error_code"] == 0 and len(parts) >= pending.get(name, 0)
                        and all(p["leader"] >= 0 for p in parts)):
                    pending.pop(name, None)
            if not pending:
                return
            if time.monotonic() > deadline:
                raise KafkaAdminError(f"topics without leaders after deadline: {sorted(pending)}")
            await asyncio.sleep(0.1)

    async def topic_config(self, topic: str) -> dict[str, str]:
        """The effective configuration of ``topic`` as ``{name: value}``."""
        resource = ConfigResource(ConfigResourceType.TOPIC, topic)
        try:
            responses = await self._client.describe_configs([resource])
        except KafkaError as exc:
            raise KafkaAdminError(f"cannot describe the config of {topic!r}: "
                                  f"{type(exc).__name__}") from None
        result: dict[str, str] = {}
        for response in responses:
            for found in response.resources:
                if found[0] != 0:
                    raise KafkaAdminError(f"describe {topic}: Kafka error {found[0]}: {found[1]}")
                result.update((entry[0], entry[1]) for entry in found[4])
        return result


async def ensure_topics(bootstrap_servers: str, topics: Iterable[TopicSpec], *,
                        timeout: float = 30.0,
                        security: KafkaSecurity | None = None) -> dict[str, bool]:
    """Create topics unless they exist (``{name: created}``), then wait (up to ``timeout``)
    until every partition has a leader, so a producer can use them right away."""
    specs = list(topics)
    deadline = time.monotonic() + timeout
    async with Admin(bootstrap_servers, timeout=timeout, security=security) as admin:
        created = await admin.create(specs)
        await admin.wait_for_leaders({s.name: s.partitions for s in specs}, deadline)
        return created


def ensure_topics_sync(bootstrap_servers: str, topics: Iterable[TopicSpec], *,
                       timeout: float = 30.0,
                       security: KafkaSecurity | None = None) -> dict[str, bool]:
    """Blocking :func:`ensure_topics`; safe to call from inside a running event loop."""
    specs = list(topics)
    return run_sync(lambda: ensure_topics(bootstrap_servers, specs, timeout=timeout,
                                          security=security))


async def describe_topic_config(bootstrap_servers: str, topic: str, *,
                                timeout: float = 30.0,
                                security: KafkaSecurity | None = None) -> dict[str, str]:
    """The effective configuration of ``topic`` as ``{name: value}``."""
    async with Admin(bootstrap_servers, timeout=timeout, security=security) as admin:
        return await admin.topic_config(topic)


def probe_broker(bootstrap_servers: str, timeout: float = 5.0,
                 security: KafkaSecurity | None = None) -> bool:
    """True if the first bootstrap server accepts TCP and answers a metadata request."""
    first = bootstrap_servers.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)),
                                      timeout=min(timeout, 1.0)):
            pass
        brokers = run_sync(lambda: _metadata_brokers(bootstrap_servers, timeout, security))
    except Exception:
        return False
    return bool(brokers)


async def _metadata_brokers(bootstrap_servers: str, timeout: float,
                            security: KafkaSecurity | None) -> list[int]:
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers,
                            request_timeout_ms=max(1000, int(timeout * 1000)),
                            metadata_max_age_ms=1000,
                            **(security or KafkaSecurity()).client_options())
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        return sorted(broker.nodeId for broker in client.cluster.brokers())
    finally:
        await client.close()


def run_sync(factory: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine to completion in a private event loop on a helper thread, so it
    works whether or not the caller already runs an event loop."""
    box: dict[str, Any] = {}

    def target() -> None:
        async def wrapper() -> _T:
            return await factory()

        try:
            box["result"] = asyncio.run(wrapper())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="kafka-admin-sync", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: _T = box["result"]
    return result
