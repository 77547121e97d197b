"""A real single-node Apache Kafka broker (KRaft, combined mode) for dev, tests and demos.

The broker jars come from Maven Central via ``scripts/kafka/pom.xml`` and are cached in
``${WRAPUP_CACHE_DIR:-~/.cache/wrapup-bridge}/kafka-<version>/jars``.

Standalone use::

    python -m streams.local_kafka fetch    # make sure the jars are cached
    python -m streams.local_kafka start    # run in the foreground, print the bootstrap address
    python -m streams.local_kafka status   # is the broker started by `start` up?
    python -m streams.local_kafka stop     # stop the broker started by `start`

Set ``KAFKA_BOOTSTRAP_SERVERS`` to use an existing cluster instead (see :func:`kafka_from_env`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TypeVar

from aiokafka import AIOKafkaClient
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

__all__ = [
    "CONSUMER_GROUP_COMMAND",
    "KAFKA_VERSION",
    "LocalKafka",
    "LocalKafkaError",
    "TopicSpec",
    "cache_dir",
    "classpath",
    "cmd_start",
    "cmd_status",
    "cmd_stop",
    "describe_topic_config",
    "ensure_topics",
    "ensure_topics_sync",
    "external_bootstrap_servers",
    "fetch_jars",
    "find_free_port",
    "kafka_from_env",
    "main",
    "probe_broker",
    "render_server_properties",
    "run_kafka_tool",
]

KAFKA_VERSION = "4.1.1"
NODE_ID = 1
ENV_BOOTSTRAP = "KAFKA_BOOTSTRAP_SERVERS"
ENV_CACHE_DIR = "WRAPUP_CACHE_DIR"
CONSUMER_GROUP_COMMAND = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
REPO_ROOT = Path(__file__).resolve().parent.parent
POM_PATH = REPO_ROOT / "scripts" / "kafka" / "pom.xml"
_MARKER = ".complete"
# Short-lived JVMs (storage format, CLI tools) start ~2x faster without the C2 JIT.
_QUICK_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
_T = TypeVar("_T")


class LocalKafkaError(RuntimeError):
    """Provisioning, starting or talking to the local broker failed."""


# --------------------------------------------------------------------------- jars / cache


def cache_dir() -> Path:
    """Root of the per-version cache (jars, tool log config, run state)."""
    root = os.environ.get(ENV_CACHE_DIR) or str(Path.home() / ".cache" / "wrapup-bridge")
    return Path(root).expanduser() / f"kafka-{KAFKA_VERSION}"


def _pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def _jars_complete(jars: Path, pom: Path) -> bool:
    marker = jars / _MARKER
    return marker.is_file() and marker.read_text().strip() == _pom_digest(pom)


def fetch_jars(*, force: bool = False, pom: Path = POM_PATH, timeout: float = 900.0) -> Path:
    """Ensure the Kafka jars are in the cache (via Maven) and return the jars directory.

    A marker holding the pom's sha256 is written after a successful copy, so a complete
    cache is reused and a changed pom triggers a re-fetch. Concurrent callers are serialised
    by a file lock.
    """
    if not pom.is_file():
        raise LocalKafkaError(f"Kafka pom not found at {pom}")
    base = cache_dir()
    jars = base / "jars"
    if not force and _jars_complete(jars, pom):
        return jars
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalKafkaError("`mvn` not found on PATH (apt-get install -y maven)")
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and _jars_complete(jars, pom):
            return jars
        staging = Path(tempfile.mkdtemp(prefix="jars-", dir=base))
        try:
            cmd = [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ]
            try:
                proc = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=timeout, check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise LocalKafkaError(f"Maven did not finish within {timeout:.0f}s") from exc
            if proc.returncode != 0:
                raise LocalKafkaError(
                    f"Maven failed ({proc.returncode}):\n{_tail(proc.stdout + proc.stderr)}"
                )
            if not any(staging.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
                raise LocalKafkaError(f"Maven ran but kafka_2.13-{KAFKA_VERSION}.jar is missing")
            (staging / _MARKER).write_text(_pom_digest(pom) + "\n")
            if jars.exists():
                shutil.rmtree(jars)
            staging.rename(jars)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return jars


def classpath(jars: Path | None = None) -> str:
    """The JVM classpath (``<jars>/*``), fetching the jars first if needed."""
    return str((jars or fetch_jars()) / "*")


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise LocalKafkaError("`java` not found (JDK 17+ required, apt-get install -y default-jdk)")
    return java


def _tools_log4j(base: Path) -> Path:
    """A log4j2 config for CLI tools: warnings and errors to stderr only."""
    path = base / "tools-log4j2.xml"
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Configuration status="error">\n'
        '  <Appenders><Console name="err" target="SYSTEM_ERR">'
        '<PatternLayout pattern="[%d] %p %m (%c)%n"/></Console></Appenders>\n'
        '  <Loggers><Root level="warn"><AppenderRef ref="err"/></Root></Loggers>\n'
        "</Configuration>\n"
    )
    if not path.is_file() or path.read_text() != text:
        base.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


def run_kafka_tool(
    main_class: str,
    args: Sequence[str],
    *,
    timeout: float = 120.0,
    check: bool = True,
    heap: str = "256m",
) -> subprocess.CompletedProcess[str]:
    """Run a Kafka Java CLI class (e.g. :data:`CONSUMER_GROUP_COMMAND`) on the cached classpath.

    Output is captured as text; with ``check`` a non-zero exit raises :class:`LocalKafkaError`.
    """
    jars = fetch_jars()
    cmd = [
        _java(),
        f"-Xmx{heap}",
        *_QUICK_JVM,
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={_tools_log4j(cache_dir())}",
        "-cp",
        classpath(jars),
        main_class,
        *args,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LocalKafkaError(f"{main_class} did not finish within {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        raise LocalKafkaError(
            f"{main_class} {' '.join(args)} exited {proc.returncode}:\n"
            f"{_tail(proc.stdout + proc.stderr)}"
        )
    return proc


# --------------------------------------------------------------------------- config rendering


def find_free_port(host: str = "127.0.0.1") -> int:
    """A currently free TCP port on ``host`` (bind to port 0 and release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def render_server_properties(
    *,
    host: str,
    port: int,
    controller_port: int,
    log_dirs: Path,
    extra: Mapping[str, str] | None = None,
) -> str:
    """Render ``server.properties`` for a single combined broker+controller node."""
    props: dict[str, str] = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.voters": f"{NODE_ID}@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(log_dirs),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # Never let a producer silently create a 1-partition topic (breaks co-partitioning).
        "auto.create.topics.enable": "false",
        "delete.topic.enable": "true",
    }
    props.update(extra or {})
    return "".join(f"{key}={value}\n" for key, value in props.items())


def render_log4j_config(log_file: Path) -> str:
    """A log4j2 XML config writing the broker log to ``log_file`` (no console output)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Configuration status="warn">\n'
        "  <Appenders>\n"
        f'    <File name="server" fileName="{log_file}" append="true">\n'
        '      <PatternLayout pattern="[%d] %p %m (%c)%n"/>\n'
        "    </File>\n"
        "  </Appenders>\n"
        "  <Loggers>\n"
        '    <Logger name="kafka.request.logger" level="warn"/>\n'
        '    <Logger name="org.apache.kafka.storage.internals.log.LogCleaner" level="warn"/>\n'
        '    <Root level="info"><AppenderRef ref="server"/></Root>\n'
        "  </Loggers>\n"
        "</Configuration>\n"
    )


def _random_cluster_id() -> str:
    """A Kafka-style base64url UUID that does not start with '-' (CLI-safe)."""
    for _ in range(100):
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid
    raise LocalKafkaError("could not generate a cluster id")  # pragma: no cover


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _tail_file(path: Path, lines: int = 40) -> str:
    """The first error lines (with their causes) and the last ``lines`` lines of a log."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    errors = [
        line
        for line in text.splitlines()
        if " ERROR " in line or " FATAL " in line or line.startswith("Caused by:")
    ][:12]
    head = "errors:\n" + "\n".join(errors) + "\n... last lines:\n" if errors else ""
    return head + _tail(text, lines)


# --------------------------------------------------------------------------- probing


def _run_coro(factory: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine to completion in a private event loop on a helper thread.

    Works whether or not the caller already runs an event loop.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        async def wrapper() -> _T:
            return await factory()

        try:
            box["result"] = asyncio.run(wrapper())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="local-kafka-async", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: _T = box["result"]
    return result


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when this process dies.

    Only used from the main thread: PDEATHSIG fires when the *thread* that forked exits.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # parent already gone between fork and prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def _tcp_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


async def _metadata_brokers(bootstrap_servers: str, timeout: float) -> list[int]:
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=max(1000, int(timeout * 1000)),
        metadata_max_age_ms=1000,
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        return sorted(broker.nodeId for broker in client.cluster.brokers())
    finally:
        await client.close()


def probe_broker(bootstrap_servers: str, timeout: float = 5.0) -> bool:
    """True if the first bootstrap server accepts TCP and answers a metadata request."""
    first = bootstrap_servers.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not _tcp_open(host.strip("[]") or "127.0.0.1", int(port), timeout=min(timeout, 1.0)):
        return False
    try:
        brokers = _run_coro(lambda: _metadata_brokers(bootstrap_servers, timeout))
    except Exception:
        return False
    return bool(brokers)


# --------------------------------------------------------------------------- topics


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: name, partition count and topic-level config."""

    name: str
    partitions: int = 1
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=dict)


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[TopicSpec],
    *,
    timeout: float = 30.0,
) -> dict[str, bool]:
    """Create topics unless they exist; returns ``{name: created}``.

    Waits (up to ``timeout``) until every partition of every topic has a leader, so a
    producer can use the topics right away. An existing topic is left as it is.
    """
    specs = list(topics)
    deadline = time.monotonic() + timeout
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout * 1000)
    )
    await asyncio.wait_for(admin.start(), timeout)
    try:
        created: dict[str, bool] = {}
        if specs:
            response = await admin.create_topics(
                [
                    NewTopic(
                        s.name, s.partitions, s.replication_factor, topic_configs=dict(s.config)
                    )
                    for s in specs
                ],
                timeout_ms=int(timeout * 1000),
            )
            for error in response.topic_errors:
                name, code = error[0], error[1]
                message = error[2] if len(error) > 2 else ""
                if code == 0:
                    created[name] = True
                elif code == TopicAlreadyExistsError.errno:
                    created[name] = False
                else:
                    raise for_code(code)(f"creating topic {name}: {message}")
        await _wait_for_leaders(admin, {s.name: s.partitions for s in specs}, deadline)
        return created
    finally:
        await admin.close()


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, want: Mapping[str, int], deadline: float
) -> None:
    pending = dict(want)
    while pending:
        described = await admin.describe_topics(list(pending))
        for topic in described:
            name = topic["topic"]
            parts = topic["partitions"]
            if (
                topic["error_code"] == 0
                and len(parts) >= pending.get(name, 0)
                and all(p["leader"] >= 0 for p in parts)
            ):
                pending.pop(name, None)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise LocalKafkaError(f"topics without leaders after deadline: {sorted(pending)}")
        await asyncio.sleep(0.1)


def ensure_topics_sync(
    bootstrap_servers: str, topics: Iterable[TopicSpec], *, timeout: float = 30.0
) -> dict[str, bool]:
    """Blocking :func:`ensure_topics`; safe to call from inside a running event loop."""
    specs = list(topics)
    return _run_coro(lambda: ensure_topics(bootstrap_servers, specs, timeout=timeout))


async def describe_topic_config(
    bootstrap_servers: str, topic: str, *, timeout: float = 30.0
) -> dict[str, str]:
    """The effective configuration of ``topic`` as ``{name: value}``."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout * 1000)
    )
    await asyncio.wait_for(admin.start(), timeout)
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        result: dict[str, str] = {}
        for response in responses:
            for resource in response.resources:
                error_code, error_message = resource[0], resource[1]
                if error_code != 0:
                    raise for_code(error_code)(f"describe {topic}: {error_message}")
                for entry in resource[4]:
                    result[entry[0]] = entry[1]
        return result
    finally:
        await admin.close()


# --------------------------------------------------------------------------- the broker


class LocalKafka:
    """A single-node Kafka 4 broker (KRaft combined mode) running as a child JVM.

    ``data_dir`` holds ``server.properties``, the data (``kraft-logs/``) and the broker log
    (``logs/server.log``). Without ``data_dir`` a temporary directory is used and removed on
    :meth:`stop`; a given ``data_dir`` is kept and reused (formatted only once).
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        controller_port: int | None = None,
        heap: str = "768m",
        start_timeout: float = 120.0,
        stop_timeout: float = 30.0,
        extra_properties: Mapping[str, str] | None = None,
    ) -> None:
        self._given_data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self._data_dir: Path | None = self._given_data_dir
        self.host = host
        self._want_port = port
        self._want_controller_port = controller_port
        self.port: int | None = None
        self.controller_port: int | None = None
        self.heap = heap
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.extra_properties = dict(extra_properties or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None
        self.exit_code: int | None = None
        self.killed = False

    # ---- paths / properties

    @property
    def data_dir(self) -> Path:
        """The broker's working directory (only known once started)."""
        if self._data_dir is None:
            raise LocalKafkaError("LocalKafka has not been started")
        return self._data_dir

    @property
    def log_file(self) -> Path:
        """The broker log written by log4j."""
        return self.data_dir / "logs" / "server.log"

    @property
    def stdout_file(self) -> Path:
        """The JVM's own stdout/stderr (crashes before log4j is up land here)."""
        return self.data_dir / "logs" / "jvm.out"

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` of the PLAINTEXT listener."""
        if self.port is None:
            raise LocalKafkaError("LocalKafka has not been started")
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """PID of the broker JVM while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def is_running(self) -> bool:
        """True while the broker JVM is alive."""
        return self._proc is not None and self._proc.poll() is None

    # ---- lifecycle

    def start(self) -> LocalKafka:
        """Format storage if needed, launch the JVM and wait until it answers metadata."""
        if self.is_running():
            return self
        jars = fetch_jars()
        auto_ports = self._want_port is None or self._want_controller_port is None
        attempts = 3 if auto_ports else 1
        for attempt in range(1, attempts + 1):
            try:
                self._start_once(jars)
                return self
            except LocalKafkaError as exc:
                port_clash = "Address already in use" in str(exc)
                if not (port_clash and attempt < attempts):
                    raise
        raise LocalKafkaError("unreachable")  # pragma: no cover

    def _start_once(self, jars: Path) -> None:
        began = time.monotonic()
        if self._data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="wrapup-kafka-"))
        data = self._data_dir
        (data / "logs").mkdir(parents=True, exist_ok=True)
        self.port = self._want_port or find_free_port(self.host)
        self.controller_port = self._want_controller_port or find_free_port(self.host)
        while self.controller_port == self.port:
            self.controller_port = find_free_port(self.host)
        props = data / "server.properties"
        props.write_text(
            render_server_properties(
                host=self.host,
                port=self.port,
                controller_port=self.controller_port,
                log_dirs=data / "kraft-logs",
                extra=self.extra_properties,
            )
        )
        log4j = data / "log4j2.xml"
        log4j.write_text(render_log4j_config(self.log_file))
        java_base = [
            _java(),
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={data / 'logs'}",
        ]
        if not (data / "kraft-logs" / "meta.properties").is_file():
            fmt = subprocess.run(
                [
                    *java_base,
                    "-Xmx256m",
                    *_QUICK_JVM,
                    "-cp",
                    classpath(jars),
                    "kafka.tools.StorageTool",
                    "format",
                    "--ignore-formatted",
                    "-t",
                    _random_cluster_id(),
                    "-c",
                    str(props),
                ],
                capture_output=True,
                text=True,
                timeout=self.start_timeout,
                check=False,
            )
            if fmt.returncode != 0:
                raise LocalKafkaError(
                    f"kafka-storage format failed ({fmt.returncode}):\n"
                    f"{_tail(fmt.stdout + fmt.stderr)}\n--- {self.log_file}:\n"
                    f"{_tail_file(self.log_file)}"
                )
        with open(self.stdout_file, "ab") as out:
            self._proc = subprocess.Popen(
                [
                    *java_base,
                    f"-Xmx{self.heap}",
                    "-Xms128m",
                    "-XX:+UseG1GC",
                    "-XX:MaxGCPauseMillis=20",
                    "-cp",
                    classpath(jars),
                    "kafka.Kafka",
                    str(props),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in a terminal reaches only our supervisor
                preexec_fn=_die_with_parent() if _in_main_thread() else None,
            )
        try:
            self._wait_ready(began)
        except BaseException:
            self._terminate()
            raise
        self.startup_seconds = time.monotonic() - began

    def _wait_ready(self, began: float) -> None:
        deadline = began + self.start_timeout
        assert self._proc is not None and self.port is not None
        while True:
            code = self._proc.poll()
            if code is not None:
                raise LocalKafkaError(
                    f"Kafka JVM exited with {code} during start-up.\n--- {self.log_file}:\n"
                    f"{_tail_file(self.log_file)}\n--- {self.stdout_file}:\n"
                    f"{_tail_file(self.stdout_file)}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LocalKafkaError(
                    f"Kafka not ready after {self.start_timeout:.0f}s.\n--- {self.log_file}:\n"
                    f"{_tail_file(self.log_file)}"
                )
            if probe_broker(self.bootstrap_servers, timeout=min(5.0, max(remaining, 0.5))):
                return
            time.sleep(0.2)

    def _terminate(self) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        self.killed = False
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(timeout=30)
        self._proc = None
        self.exit_code = proc.returncode
        return proc.returncode

    def stop(self) -> None:
        """SIGTERM the JVM, SIGKILL it after ``stop_timeout``; remove a temporary data dir.

        Afterwards ``exit_code`` holds the JVM's exit status and ``killed`` whether SIGKILL
        was needed.
        """
        self._terminate()
        if self._given_data_dir is None and self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self.port else "not started"
        return f"<LocalKafka {where} pid={self.pid}>"


def external_bootstrap_servers(environ: Mapping[str, str] | None = None) -> str | None:
    """``KAFKA_BOOTSTRAP_SERVERS`` if set to something non-blank, else ``None``."""
    value = (os.environ if environ is None else environ).get(ENV_BOOTSTRAP, "").strip()
    return value or None


@contextlib.contextmanager
def kafka_from_env(**local_kwargs: Any) -> Iterator[str]:
    """Yield bootstrap servers: ``KAFKA_BOOTSTRAP_SERVERS`` if set (nothing is started),
    else those of a :class:`LocalKafka` started for the block and stopped afterwards."""
    external = external_bootstrap_servers()
    if external is not None:
        yield external
        return
    with LocalKafka(**local_kwargs) as kafka:
        yield kafka.bootstrap_servers


# --------------------------------------------------------------------------- CLI


def _state_file() -> Path:
    return cache_dir() / "run" / "local-kafka.json"


def _read_state() -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return None
    return state


def _pid_matches(pid: int, needle: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return needle in cmdline


def cmd_start(
    data_dir: Path | None = None,
    port: int | None = None,
    *,
    out: Callable[[str], None] = print,
) -> int:
    """Run a broker in the foreground until SIGINT/SIGTERM; prints the bootstrap address."""
    state = _read_state()
    if state and _pid_matches(int(state.get("jvm_pid", 0)), "kafka.Kafka"):
        sys.stderr.write(f"a local Kafka is already running at {state['bootstrap_servers']}\n")
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    kafka = LocalKafka(data_dir, port=port)
    try:
        kafka.start()
        state_path = _state_file()
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "jvm_pid": kafka.pid,
                    "bootstrap_servers": kafka.bootstrap_servers,
                    "data_dir": str(kafka.data_dir),
                }
            )
        )
        out(kafka.bootstrap_servers)
        sys.stdout.flush()
        while not stop.is_set():
            if not kafka.is_running():
                sys.stderr.write(f"Kafka exited unexpectedly:\n{_tail_file(kafka.log_file)}\n")
                return 1
            stop.wait(0.5)
        return 0
    finally:
        kafka.stop()
        with contextlib.suppress(OSError):
            state = _read_state()
            if state and state.get("pid") == os.getpid():
                _state_file().unlink()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cmd_status(*, out: Callable[[str], None] = print) -> int:
    """Print the bootstrap address of the broker run by ``start``; 0 if it answers, else 1."""
    external = external_bootstrap_servers()
    state = _read_state()
    if state is None:
        if external is not None and probe_broker(external):
            out(f"{external} (KAFKA_BOOTSTRAP_SERVERS) up")
            return 0
        out("not running")
        return 1
    bootstrap = str(state["bootstrap_servers"])
    if probe_broker(bootstrap):
        out(f"{bootstrap} up (pid {state.get('jvm_pid')}, data {state.get('data_dir')})")
        return 0
    out(f"{bootstrap} not answering")
    return 1


def cmd_stop(timeout: float = 60.0, *, out: Callable[[str], None] = print) -> int:
    """Stop the broker run by ``start`` (SIGTERM its supervisor, then the JVM, then SIGKILL)."""
    state = _read_state()
    if state is None:
        out("not running")
        return 0
    targets = [
        (int(state.get("pid", 0)), "streams"),
        (int(state.get("jvm_pid", 0)), "kafka.Kafka"),
    ]
    live = [pid for pid, needle in targets if pid > 0 and _pid_matches(pid, needle)]
    if live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(live[0], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
        _pid_matches(pid, needle) for pid, needle in targets if pid > 0
    ):
        time.sleep(0.2)
    for pid, needle in targets:
        if pid > 0 and _pid_matches(pid, needle):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        _state_file().unlink()
    out("stopped")
    return 0


def cmd_fetch(*, force: bool = False, out: Callable[[str], None] = print) -> int:
    """Ensure the jars are cached; prints the jars directory."""
    out(str(fetch_jars(force=force)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m streams.local_kafka``."""
    parser = argparse.ArgumentParser(prog="python -m streams.local_kafka", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="run a broker in the foreground")
    start.add_argument("--data-dir", type=Path, default=None, help="keep data here (reused)")
    start.add_argument("--port", type=int, default=None, help="PLAINTEXT port (default: free)")
    sub.add_parser("status", help="is the broker run by `start` up?")
    stop = sub.add_parser("stop", help="stop the broker run by `start`")
    stop.add_argument("--timeout", type=float, default=60.0)
    fetch = sub.add_parser("fetch", help="download the Kafka jars into the cache")
    fetch.add_argument("--force", action="store_true")
    ns = parser.parse_args(argv)
    try:
        if ns.command == "start":
            return cmd_start(ns.data_dir, ns.port)
        if ns.command == "status":
            return cmd_status()
        if ns.command == "stop":
            return cmd_stop(ns.timeout)
        return cmd_fetch(force=ns.force)
    except LocalKafkaError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
