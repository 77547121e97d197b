"""A real single-node Apache Kafka broker (KRaft, combined mode) as a child JVM.

For development, tests and demos: ``wrapup kafka start|stop|status|fetch`` runs it from a
terminal; tests and scripts use :func:`kafka_from_env`, which takes ``KAFKA_BOOTSTRAP_SERVERS``
when it is set and starts a broker otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from streams.dev.kafka.config import (
    find_free_port,
    random_cluster_id,
    render_log4j_config,
    render_server_properties,
)
from streams.dev.kafka.jars import LocalKafkaError, fetch_jars
from streams.dev.kafka.process import die_with_parent, in_main_thread, log_excerpt
from streams.dev.kafka.tls import TlsFiles
from streams.kafka.admin import probe_broker
from streams.kafka.tools import QUICK_JVM, classpath, java_binary, tail

ENV_BOOTSTRAP = "KAFKA_BOOTSTRAP_SERVERS"


@dataclass(frozen=True)
class SecureListeners:
    """Three more listeners besides PLAINTEXT: SASL_SSL and SASL_PLAINTEXT (``users`` as
    SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN credentials, the SCRAM ones created at format
    time) and SSL requiring a client certificate signed by ``tls.ca`` (mutual TLS)."""

    tls: TlsFiles
    users: Mapping[str, str] = field(default_factory=dict, repr=False)


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
        secure: SecureListeners | None = None,
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
        self.secure = secure
        self.sasl_ssl_port: int | None = None
        self.ssl_port: int | None = None
        self.sasl_plaintext_port: int | None = None
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
    def sasl_ssl_servers(self) -> str:
        """``host:port`` of the SASL_SSL listener (with ``secure``)."""
        if self.sasl_ssl_port is None:
            raise LocalKafkaError("LocalKafka has no SASL_SSL listener")
        return f"{self.host}:{self.sasl_ssl_port}"

    @property
    def sasl_plaintext_servers(self) -> str:
        """``host:port`` of the SASL_PLAINTEXT listener (with ``secure``)."""
        if self.sasl_plaintext_port is None:
            raise LocalKafkaError("LocalKafka has no SASL_PLAINTEXT listener")
        return f"{self.host}:{self.sasl_plaintext_port}"

    @property
    def ssl_servers(self) -> str:
        """``host:port`` of the mutual-TLS (SSL) listener (with ``secure``)."""
        if self.ssl_port is None:
            raise LocalKafkaError("LocalKafka has no SSL listener")
        return f"{self.host}:{self.ssl_port}"

    def _secure_properties(self) -> dict[str, str]:
        assert self.secure is not None
        tls, h = self.secure.tls, self.host
        self.sasl_ssl_port = find_free_port(h)
        self.ssl_port = find_free_port(h)
        self.sasl_plaintext_port = find_free_port(h)
        sasl_plain = f"SASL_PLAINTEXT://{h}:{self.sasl_plaintext_port}"
        keystore = self.data_dir / "broker-keystore.pem"  # key + chain, as Kafka wants it
        keystore.touch(mode=0o600)
        keystore.write_text(tls.broker_key.read_text() + tls.broker_cert.read_text())
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        plain_users = " ".join(f'user_{u}="{pw}"' for u, pw in self.secure.users.items())
        plain = f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};"
        return {
            "listeners": f"PLAINTEXT://{h}:{self.port},SASL_SSL://{h}:{self.sasl_ssl_port},"
                         f"SSL://{h}:{self.ssl_port},{sasl_plain},"
                         f"CONTROLLER://{h}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{h}:{self.port},"
                                    f"SASL_SSL://{h}:{self.sasl_ssl_port},"
                                    f"SSL://{h}:{self.ssl_port},{sasl_plain}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL,"
                                              "SASL_PLAINTEXT:SASL_PLAINTEXT,"
                                              "CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            **{f"listener.name.{name}.{mech}.sasl.jaas.config": jaas
               for name in ("sasl_ssl", "sasl_plaintext")
               for mech, jaas in (("scram-sha-256", scram), ("scram-sha-512", scram),
                                  ("plain", plain))},
            "listener.name.ssl.ssl.client.auth": "required",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(tls.ca),
        }

    def _scram_arguments(self) -> list[str]:
        if self.secure is None:
            return []
        return [arg for user, password in self.secure.users.items()
                for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512")
                for arg in ("--add-scram", f"{mechanism}=[name={user},password={password}]")]

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
        extra = {**(self._secure_properties() if self.secure else {}), **self.extra_properties}
        props.touch(mode=0o600)
        props.write_text(
            render_server_properties(
                host=self.host,
                port=self.port,
                controller_port=self.controller_port,
                log_dirs=data / "kraft-logs",
                extra=extra,
            )
        )
        log4j = data / "log4j2.xml"
        log4j.write_text(render_log4j_config(self.log_file))
        java_base = [
            java_binary(),
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={data / 'logs'}",
        ]
        if not (data / "kraft-logs" / "meta.properties").is_file():
            fmt = subprocess.run(
                [
                    *java_base,
                    "-Xmx256m",
                    *QUICK_JVM,
                    "-cp",
                    classpath(jars),
                    "kafka.tools.StorageTool",
                    "format",
                    "--ignore-formatted",
                    "-t",
                    random_cluster_id(),
                    "-c",
                    str(props),
                    *self._scram_arguments(),
                ],
                capture_output=True,
                text=True,
                timeout=self.start_timeout,
                check=False,
            )
            if fmt.returncode != 0:
                raise LocalKafkaError(
                    f"kafka-storage format failed ({fmt.returncode}):\n"
                    f"{tail(fmt.stdout + fmt.stderr)}\n--- {self.log_file}:\n"
                    f"{log_excerpt(self.log_file)}"
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
                preexec_fn=die_with_parent() if in_main_thread() else None,
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
                    f"{log_excerpt(self.log_file)}\n--- {self.stdout_file}:\n"
                    f"{log_excerpt(self.stdout_file)}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LocalKafkaError(
                    f"Kafka not ready after {self.start_timeout:.0f}s.\n--- {self.log_file}:\n"
                    f"{log_excerpt(self.log_file)}"
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
