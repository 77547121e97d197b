"""What a single combined broker+controller node is configured with: rendered, not run."""

from __future__ import annotations

import base64
import socket
import uuid
from collections.abc import Mapping
from pathlib import Path

NODE_ID = 1


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


def random_cluster_id() -> str:
    """A Kafka-style base64url UUID that does not start with '-' (CLI-safe)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid
